import { randomUUID } from 'node:crypto';
import { C2D_LIMITS, type C2dMessage } from '../../c2d/index.js';
import { MethodHttpStatus, MethodLimits } from '../../methods/index.js';
import { splitTwinId } from '../../twin/index.js';
import { decodePropertyBag } from '../../transport/mqtt/iothub/index.js';
import { parseJson } from '../method-relay.js';
import type { ReportedOutbox } from '../reported-outbox.js';
import { ReportedOutboxes } from '../reported-outboxes.js';
import { TwinSync } from '../twin-sync.js';
import type { RelayOptions } from '../upstream-relay.js';
import type { MqttIdentityConnection } from './mqtt-identity-connection.js';
import { MqttTwin, TwinTopic } from './mqtt-twin.js';

/** IoT Hub's MQTT topics for direct methods and C2D (notes 5). */
const MethodTopic = {
  Requests: '$iothub/methods/POST/#',
  RequestPrefix: '$iothub/methods/POST/',
  response: (status: number, rid: string) => `$iothub/methods/res/${status}/?$rid=${rid}`,
} as const;
const c2dFilter = (deviceId: string) => `devices/${deviceId}/messages/devicebound/#`;
const c2dPrefix = (deviceId: string) => `devices/${deviceId}/messages/devicebound/`;
const MS_PER_SEC = 1000;

export interface MqttRelayOptions extends RelayOptions {
  /** The identity's MQTT connection (opened if needed); undefined when it has no key here. */
  readonly connectionFor: (deviceId: string, moduleId: string | undefined) => MqttIdentityConnection | undefined;
  readonly connected: () => boolean;
  /** Whether the identity has a key here (a connection can be opened for it). */
  readonly canSignFor: (deviceId: string, moduleId: string | undefined) => boolean;
}

interface Relayed {
  readonly identity: string;
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  readonly outbox: ReportedOutbox;
  connection: MqttIdentityConnection | undefined;
  twin: MqttTwin | undefined;
}

/**
 * Twins, direct methods and C2D between the clients connected here and the parent over the MQTT
 * upstream (upstream.protocol Mqtt, MqttWs): what UpstreamRelay does on AMQP links, here on each
 * identity's own MQTT connection with IoT Hub's MQTT topics, subscribed while the client here is
 * (methods, C2D, desired patches) and the twin answers always. The twin part (re-pull, GET,
 * stored outbox of reported patches) is MqttTwin, rate-limited by the same TwinSync. Methods: a
 * request is invoked through the hub's MethodService and answered on `$iothub/methods/res/`. C2D:
 * relayed to the device (not stored here), the PUBACK to the parent sent once the device settled
 * it — MQTT has no reject or abandon, so every outcome completes it at the parent (as an MQTT
 * device would).
 */
export class MqttRelay {
  private readonly relayed = new Map<string, Relayed>();
  private readonly sync: TwinSync;
  /** Nothing is relayed before they are read: their stored patches go first. */
  private readonly outboxes: ReportedOutboxes;
  private readonly always: ReadonlySet<string>;

  constructor(private readonly options: MqttRelayOptions) {
    this.always = new Set(options.alwaysRelayed ?? []);
    const { twins, clients } = options.services;
    this.sync = new TwinSync({ minPeriodMs: options.minTwinSyncPeriodMs, getTimeoutMs: options.twinGetTimeoutMs, connected: options.connected, canRelay: (twinId) => {
      const { deviceId, moduleId } = splitTwinId(twinId);
      return options.canSignFor(deviceId, moduleId);
    }, logger: options.logger });
    this.outboxes = new ReportedOutboxes({
      twins,
      logger: options.logger,
      queued: (twinId) => {
        this.stateOf(twinId);
        this.reconcile(twinId);
        this.relayed.get(twinId)?.twin?.flush();
      },
      loaded: (twinIds) => {
        for (const twinId of twinIds) this.stateOf(twinId);
        for (const identity of new Set([...this.relayed.keys(), ...this.always, ...clients.list().map((entry) => entry.identity)])) this.reconcile(identity);
      },
    });
    clients.onChanged((identity) => this.reconcile(identity));
    twins.useUpstreamGet((twinId) => this.sync.fetchDesired(twinId));
  }

  close(): void {
    this.sync.close();
  }

  private stateOf(identity: string): Relayed {
    let state = this.relayed.get(identity);
    if (state === undefined) {
      const { deviceId, moduleId } = splitTwinId(identity);
      state = { identity, deviceId, moduleId, outbox: this.outboxes.of(identity), connection: undefined, twin: undefined };
      this.relayed.set(identity, state);
    }
    return state;
  }

  /** Holds on the identity's connection the subscriptions its client here has (the twin answers while connected or with patches to send). */
  private reconcile(identity: string): void {
    if (!this.outboxes.loaded) return;
    const { clients } = this.options.services;
    const always = this.always.has(identity);
    const connected = always || clients.isConnected(identity);
    const state = this.relayed.get(identity) ?? (connected ? this.stateOf(identity) : undefined);
    if (state === undefined) return;
    if (!connected && state.outbox.empty) {
      state.connection?.setFilters([]);
      return;
    }
    if (state.connection === undefined) {
      const connection = this.options.connectionFor(state.deviceId, state.moduleId);
      if (connection === undefined) return;
      state.connection = connection;
      const twin = new MqttTwin({ twinId: identity, connection, twins: this.options.services.twins, outbox: state.outbox, sync: this.sync, logger: this.options.logger });
      state.twin = twin;
      connection.relayTo((topic, payload, done) => this.inbound(state, topic, payload, done), { up: () => void twin.up(), down: () => twin.down() });
    }
    const filters: string[] = [TwinTopic.Responses];
    if (always || clients.linkFor(identity, 'desired-properties') !== undefined) filters.push(TwinTopic.DesiredPatches);
    if (clients.linkFor(identity, 'methods') !== undefined || (always && this.options.services.methods.handlesLocally(identity))) filters.push(MethodTopic.Requests);
    if (state.moduleId === undefined && this.options.services.c2d !== undefined && clients.linkFor(identity, 'c2d') !== undefined) filters.push(c2dFilter(state.deviceId));
    state.connection.setFilters(filters);
  }

  private inbound(state: Relayed, topic: string, payload: Buffer, done: () => void): void {
    if (topic.startsWith(TwinTopic.ResponsePrefix) || topic.startsWith(TwinTopic.DesiredPatchPrefix)) {
      state.twin?.received(topic, payload);
      done();
    } else if (topic.startsWith(MethodTopic.RequestPrefix)) {
      done();
      this.method(state, topic, payload);
    } else if (state.moduleId === undefined && topic.startsWith(c2dPrefix(state.deviceId))) {
      this.c2d(state, topic, payload, done);
    } else {
      done();
    }
  }

  private method(state: Relayed, topic: string, payload: Buffer): void {
    const rest = topic.slice(MethodTopic.RequestPrefix.length);
    const methodName = decodeURIComponent(rest.slice(0, rest.indexOf('/')));
    const rid = new URLSearchParams(rest.slice(rest.indexOf('?') + 1)).get('$rid');
    if (rid === null || methodName === '') return;
    const call = { methodName, payload: parseJson(payload), responseTimeoutInSeconds: MethodLimits.maxResponseTimeoutSec, connectTimeoutInSeconds: 0 };
    void this.options.services.methods.invoke(state.deviceId, state.moduleId, call, 'upstream').then((answer) => {
      if (answer.httpStatus === MethodHttpStatus.GatewayTimeout) return;
      const ok = answer.httpStatus === MethodHttpStatus.Ok;
      const body = answer.body as { status?: number; payload?: unknown };
      state.connection?.send(MethodTopic.response(ok ? Number(body.status) : answer.httpStatus, rid), JSON.stringify((ok ? body.payload : answer.body) ?? null));
    });
  }

  private c2d(state: Relayed, topic: string, payload: Buffer, done: () => void): void {
    const c2d = this.options.services.c2d;
    const bag = decodePropertyBag(topic.slice(c2dPrefix(state.deviceId).length));
    if (c2d === undefined || !bag.ok) return done();
    const relayed = c2d.relay(c2dMessageOf(state.deviceId, bag.properties, payload), () => done());
    // Not relayed (the device left): no PUBACK, the parent sends it again on the next connection.
    if (!relayed) this.options.logger.info({ event: 'upstream.c2d_not_relayed', deviceId: state.deviceId }, 'a C2D message from the parent found no device here');
  }
}

/** The parent's C2D message (its topic's property bag and payload) as this hub's C2D service delivers it. */
function c2dMessageOf(deviceId: string, bag: ReadonlyMap<string, string | null>, body: Buffer): Omit<C2dMessage, 'seq'> {
  const nowMs = Date.now();
  const properties: Record<string, string> = {};
  const system = new Map<string, string>();
  for (const [key, value] of bag) {
    if (value === null) continue;
    if (key.startsWith('$.')) system.set(key, value);
    else Object.defineProperty(properties, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const expiry = Date.parse(system.get('$.exp') ?? '');
  const optional = (key: string, name: string) => (system.has(key) ? { [name]: system.get(key)! } : {});
  return {
    deviceId,
    messageId: system.get('$.mid') ?? randomUUID(),
    ...optional('$.cid', 'correlationId'),
    ...optional('$.uid', 'userId'),
    ...optional('$.ct', 'contentType'),
    ...optional('$.ce', 'contentEncoding'),
    enqueuedAtMs: nowMs,
    expiresAtMs: Number.isNaN(expiry) ? nowMs + C2D_LIMITS.defaultTtlSec * MS_PER_SEC : expiry,
    properties,
    body,
  };
}
