import { readFileSync } from 'node:fs';
import type { OutpostConfig } from '../../config/index.js';
import { OutpostError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { EndpointTarget } from '../endpoints/index.js';
import { UPSTREAM } from '../routing/index.js';
import { UpstreamCredentials, type IdentityLookup } from './upstream-credentials.js';
import { UpstreamLink, type ConnectivityWatcher } from './upstream-link.js';
import { UpstreamRelay, type RelayServices } from './upstream-relay.js';
import { upstreamTarget } from './upstream-target.js';

/** The system modules' identities (twin ids `<edge>/$edgeAgent`, `<edge>/$edgeHub`), as IoT Hub names them. */
export const EDGE_AGENT_MODULE = '$edgeAgent';
export const EDGE_HUB_MODULE = '$edgeHub';

export interface OpenedUpstream {
  readonly link: UpstreamLink;
  readonly target: EndpointTarget;
  /** Twins, methods and C2D of the clients connected here, relayed from the parent. */
  readonly relay: UpstreamRelay;
}

/**
 * The upstream link from configuration, started, when upstream.hostname is set (undefined
 * otherwise). `retryNow` wakes the store's `$upstream` delivery when the link (re)connects;
 * `services` are the hub core's, through which the relay reaches the clients connected here.
 */
export interface OpenUpstreamOptions {
  readonly registry: IdentityLookup;
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
  const link = new UpstreamLink({
    host,
    port: upstream.port,
    ca,
    edgeDeviceId: config.deviceId,
    iotHubHostname: config.iotHubHostname,
    credentials,
    clientVersion: `outpost/${version}`,
    tokenTtlMs: upstream.tokenTtl,
    reconnectMinMs: upstream.reconnectMin,
    reconnectMaxMs: Math.max(upstream.reconnectMin, upstream.reconnectMax),
    probeIntervalMs: upstream.probeInterval,
    idleTimeoutMs: upstream.idleTimeout,
    logger,
    onAvailable: () => retryNow(UPSTREAM.id),
    ...(options.connectivity === undefined ? {} : { connectivity: options.connectivity }),
  });
  // This edge device's $edgeAgent and $edgeHub twins carry its deployment from above: always relayed.
  const alwaysRelayed = [`${config.deviceId}/${EDGE_AGENT_MODULE}`, `${config.deviceId}/${EDGE_HUB_MODULE}`];
  const relay = new UpstreamRelay({ link, services, clientVersion: `outpost/${version}`, retryMinMs: upstream.reconnectMin, retryMaxMs: Math.max(upstream.reconnectMin, upstream.reconnectMax), logger, alwaysRelayed });
  link.start();
  return { link, target: upstreamTarget(link, logger), relay };
}
