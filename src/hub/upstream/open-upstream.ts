import { readFileSync } from 'node:fs';
import type { OutpostConfig } from '../../config/index.js';
import { OutpostError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { EndpointTarget } from '../endpoints/index.js';
import { UPSTREAM } from '../routing/index.js';
import { DeviceScopeSync, type ScopeStore } from './device-scope-sync.js';
import { MqttUpstream } from './mqtt/index.js';
import { reconnectTimingOf } from './reconnect-schedule.js';
import { UpstreamCredentials, type IdentityLookup } from './upstream-credentials.js';
import { UpstreamLink, type ConnectivityWatcher } from './upstream-link.js';
import { UpstreamRelay, type RelayServices } from './upstream-relay.js';
import { upstreamTarget } from './upstream-target.js';

/** The system modules' identities (twin ids `<edge>/$edgeAgent`, `<edge>/$edgeHub`), as IoT Hub names them. */
export const EDGE_AGENT_MODULE = '$edgeAgent';
export const EDGE_HUB_MODULE = '$edgeHub';
/** The direct method on `$edgeHub` by which IoT Hub (or a parent) says the device scope changed. */
export const REFRESH_SCOPE_METHOD = 'RefreshDeviceScopeIdentityCache';

export interface OpenedUpstream {
  /** The AMQP link (upstream.protocol Amqp, AmqpWs) or the MQTT connections (Mqtt, MqttWs). */
  readonly link: UpstreamLink | MqttUpstream;
  readonly target: EndpointTarget;
  /** Twins, methods and C2D of the clients connected here, relayed from the parent (AMQP; over MQTT the link owns its relay). */
  readonly relay: UpstreamRelay | undefined;
  /** The device scope fetched from the parent into the registry (close it with the link). */
  readonly scope: DeviceScopeSync;
}

/** The MQTT keep-alive asked of the parent: the AMQP idle timeout's role (a silent parent is dropped). */
const MS_PER_SEC = 1000;

/**
 * The upstream link from configuration, started, when upstream.hostname is set (undefined
 * otherwise). `retryNow` wakes the store's `$upstream` delivery when the link (re)connects;
 * `services` are the hub core's, through which the relay reaches the clients connected here.
 */
export interface OpenUpstreamOptions {
  /** The identity registry: keys to sign with, and where the device scope synced from the parent goes. */
  readonly registry: IdentityLookup & ScopeStore;
  readonly services: RelayServices;
  /** Asks the store to deliver an endpoint's queue now (the link is back). */
  readonly retryNow: (endpointId: string) => void;
  readonly version: string;
  readonly logger: Logger;
  readonly connectivity?: ConnectivityWatcher;
}

export function openUpstream(config: OutpostConfig, options: OpenUpstreamOptions): OpenedUpstream | undefined {
  const { registry, services, retryNow, version, logger } = options;
  const upstream = config.upstream;
  const host = upstream.hostname;
  if (host === null) return undefined;
  let ca: string | undefined;
  if (upstream.caFile !== null) {
    try {
      ca = readFileSync(upstream.caFile, 'utf8');
    } catch (error) {
      throw new OutpostError('OUTPOST_UPSTREAM_CONFIG_INVALID', `upstream.caFile ${upstream.caFile} cannot be read: ${(error as Error).message}`, { cause: error });
    }
  }
  const credentials = new UpstreamCredentials({ edgeDeviceId: config.deviceId, connectionString: upstream.connectionString ?? undefined, registry });
  const scope = new DeviceScopeSync({
    host,
    port: upstream.httpsPort,
    ca,
    edgeDeviceId: config.deviceId,
    iotHubHostname: config.iotHubHostname,
    credentials,
    store: registry,
    intervalMs: upstream.scopeRefreshInterval,
    tokenTtlMs: upstream.tokenTtl,
    logger,
  });
  const onAvailable = (): void => {
    retryNow(UPSTREAM.id);
    // Each (re)connection fetches the scope again: the parent may have changed it meanwhile.
    scope.syncNow();
  };
  // This edge device's $edgeAgent and $edgeHub twins carry its deployment from above: always relayed.
  const alwaysRelayed = [`${config.deviceId}/${EDGE_AGENT_MODULE}`, `${config.deviceId}/${EDGE_HUB_MODULE}`];
  const protocol = upstream.protocol;
  const timing = reconnectTimingOf(upstream);
  if (protocol === 'Mqtt' || protocol === 'MqttWs') {
    const webSocket = protocol === 'MqttWs';
    const mqttUpstream = new MqttUpstream({
      host,
      port: webSocket ? upstream.webSocketPort : upstream.mqttPort,
      ca,
      webSocket,
      iotHubHostname: config.iotHubHostname,
      edgeDeviceId: config.deviceId,
      credentials,
      tokenTtlMs: upstream.tokenTtl,
      keepAliveSec: Math.max(1, Math.round(upstream.idleTimeout / MS_PER_SEC)),
      ...timing,
      logger,
      onAvailable,
      services,
      minTwinSyncPeriodMs: upstream.minTwinSyncPeriod,
      twinGetTimeoutMs: upstream.twinGetTimeout,
      alwaysRelayed,
    });
    logger.info({ event: 'upstream.protocol', protocol, host }, 'upstream over MQTT: one connection per identity');
    mqttUpstream.start();
    scope.start();
    return { link: mqttUpstream, target: mqttUpstream.target, relay: undefined, scope };
  }
  const link = new UpstreamLink({
    host,
    port: protocol === 'AmqpWs' ? upstream.webSocketPort : upstream.port,
    webSocket: protocol === 'AmqpWs',
    ca,
    edgeDeviceId: config.deviceId,
    iotHubHostname: config.iotHubHostname,
    credentials,
    clientVersion: `outpost/${version}`,
    tokenTtlMs: upstream.tokenTtl,
    ...timing,
    idleTimeoutMs: upstream.idleTimeout,
    maxBatchSize: upstream.maxBatchSize,
    fanOutFactor: upstream.fanOutFactor,
    logger,
    onAvailable,
    ...(options.connectivity === undefined ? {} : { connectivity: options.connectivity }),
  });
  const relay = new UpstreamRelay({ link, services, clientVersion: `outpost/${version}`, retryMinMs: timing.reconnectMinMs, retryMaxMs: timing.reconnectMaxMs, minTwinSyncPeriodMs: upstream.minTwinSyncPeriod, twinGetTimeoutMs: upstream.twinGetTimeout, logger, alwaysRelayed });
  link.start();
  scope.start();
  return { link, target: upstreamTarget(link, logger), relay, scope };
}
