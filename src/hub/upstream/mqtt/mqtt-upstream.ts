import { RateLimitedLog, type Logger } from '../../../log/index.js';
import type { EndpointTarget } from '../../endpoints/index.js';
import { SystemProperty } from '../../message/index.js';
import type { UpstreamCredentials } from '../upstream-credentials.js';
import type { RelayServices } from '../upstream-relay.js';
import { MqttIdentityConnection } from './mqtt-identity-connection.js';
import { MqttRelay } from './mqtt-relay.js';
import { telemetryTopic } from './mqtt-telemetry-topic.js';

export interface MqttUpstreamOptions {
  readonly host: string;
  readonly port: number;
  readonly ca: string | undefined;
  /** MqttWs: each connection inside a WebSocket to `port` (the parent's HTTPS listener). */
  readonly webSocket: boolean;
  readonly iotHubHostname: string;
  /** This edge device: its connection opens at start. */
  readonly edgeDeviceId: string;
  readonly credentials: UpstreamCredentials;
  readonly tokenTtlMs: number;
  readonly keepAliveSec: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly probeIntervalMs: number;
  readonly logger: Logger;
  /** An identity's connection opened (again): the store should deliver `$upstream` now. */
  readonly onAvailable: () => void;
  /** The hub's services the relay reaches the clients here through; none: telemetry only. */
  readonly services?: RelayServices;
  /** Identities whose twins are relayed with no client here (MqttRelay's `alwaysRelayed`). */
  readonly alwaysRelayed?: readonly string[];
  readonly minTwinSyncPeriodMs: number;
  readonly twinGetTimeoutMs: number;
}

/**
 * The upstream over MQTT (upstream.protocol Mqtt or MqttWs): one MQTT connection per identity, as
 * Azure's edge hub does with UpstreamProtocol=Mqtt (no multiplexing in MQTT), each opened on the
 * identity's first `$upstream` message and kept. `target` is the store's `$upstream` endpoint
 * target, the same contract as the AMQP link's: a message goes to the parent as the identity it
 * came from, on IoT Hub's telemetry topic with its properties in the topic, QoS 1, acknowledged in
 * the store when the parent's PUBACK comes; not connected (yet): unavailable, the store keeps it.
 * Twins, methods and C2D of the clients here are relayed on the same connections (MqttRelay).
 */
export class MqttUpstream {
  private readonly connections = new Map<string, MqttIdentityConnection>();
  private readonly warnings: RateLimitedLog;
  private closed = false;
  private readonly relay: MqttRelay | undefined;

  constructor(private readonly options: MqttUpstreamOptions) {
    this.warnings = new RateLimitedLog(options.logger);
    const services = options.services;
    this.relay =
      services === undefined
        ? undefined
        : new MqttRelay({
            services,
            connectionFor: (deviceId, moduleId) => {
              const connection = this.connectionFor(deviceId, moduleId);
              return typeof connection === 'object' ? connection : undefined;
            },
            minTwinSyncPeriodMs: options.minTwinSyncPeriodMs,
            twinGetTimeoutMs: options.twinGetTimeoutMs,
            connected: () => this.connected,
            canSignFor: (deviceId, moduleId) => options.credentials.credentialFor(deviceId, moduleId) !== undefined,
            logger: options.logger,
            ...(options.alwaysRelayed === undefined ? {} : { alwaysRelayed: options.alwaysRelayed }),
          });
  }

  /** Whether any identity's connection is open. */
  get connected(): boolean {
    for (const connection of this.connections.values()) if (connection.connected) return true;
    return false;
  }

  /** Connections open on demand; the edge device's own opens now (the parent sees this edge device connected). */
  start(): void {
    // The signer's own connection: the edge device's, or its $edgeHub's when that key signs.
    this.connectionFor(this.options.edgeDeviceId, this.options.credentials.signerCredential()?.signerModuleId);
  }

  readonly target: EndpointTarget = {
    deliver: (endpoint, message, onSettled) => {
      if (endpoint.kind !== 'upstream') return false;
      const system = message.systemProperties;
      const deviceId = Object.hasOwn(system, SystemProperty.ConnectionDeviceId) ? system[SystemProperty.ConnectionDeviceId] : undefined;
      const moduleId = Object.hasOwn(system, SystemProperty.ConnectionModuleId) ? system[SystemProperty.ConnectionModuleId] : undefined;
      const connection = deviceId === undefined ? undefined : this.connectionFor(deviceId, moduleId);
      if (connection === undefined) {
        // Settled after deliver returns, as a real send would be (the dispatcher expects it).
        queueMicrotask(() => onSettled('rejected'));
        return true;
      }
      if (connection === 'noCredentials') {
        const identity = moduleId === undefined ? deviceId! : `${deviceId!}/${moduleId}`;
        this.warnings.warn(`upstream.no_credentials:${identity}`, { event: 'upstream.no_credentials', identity, code: 'OUTPOST_UPSTREAM_NO_CREDENTIALS' }, 'no SAS key for this identity: its $upstream message is dropped as undeliverable');
        queueMicrotask(() => onSettled('rejected'));
        return true;
      }
      return connection.publish(telemetryTopic(deviceId!, moduleId, message), message.body, onSettled);
    },
  };

  async close(): Promise<void> {
    this.closed = true;
    this.relay?.close();
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(connections.map((connection) => connection.close()));
  }

  private connectionFor(deviceId: string, moduleId: string | undefined): MqttIdentityConnection | 'noCredentials' | undefined {
    if (this.closed) return undefined;
    const identity = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    const existing = this.connections.get(identity);
    if (existing !== undefined) return existing;
    const credential = this.options.credentials.credentialFor(deviceId, moduleId);
    if (credential === undefined) return 'noCredentials';
    const { options } = this;
    const connection = new MqttIdentityConnection({
      host: options.host,
      port: options.port,
      ca: options.ca,
      webSocket: options.webSocket,
      iotHubHostname: options.iotHubHostname,
      deviceId,
      moduleId,
      credential,
      tokenTtlMs: options.tokenTtlMs,
      keepAliveSec: options.keepAliveSec,
      reconnectMinMs: options.reconnectMinMs,
      reconnectMaxMs: options.reconnectMaxMs,
      probeIntervalMs: options.probeIntervalMs,
      logger: options.logger,
      onConnected: options.onAvailable,
    });
    this.connections.set(identity, connection);
    return connection;
  }
}
