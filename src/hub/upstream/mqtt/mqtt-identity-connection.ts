import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from '../../../log/index.js';
import type { DeliveryOutcome } from '../../endpoints/index.js';
import { ReconnectSchedule } from '../reconnect-schedule.js';
import { signSasToken } from '../sas-signer.js';
import type { UpstreamCredential } from '../upstream-credentials.js';
import { tokenAudience } from '../upstream-constants.js';
import { WebSocketWire } from '../upstream-transport.js';

/** The api-version the Azure IoT device SDKs put in the MQTT user name. */
const MQTT_API_VERSION = '2021-04-12';
/** Telemetry is sent with QoS 1: the parent's PUBACK settles it (IoT Hub has no QoS 2). */
const TELEMETRY_QOS = 1;
/** Reconnect with a fresh token once this share of its lifetime has passed (the SDKs renew at 45 of 60 minutes). */
const RENEW_AT_SHARE = 0.75;
const MS_PER_SEC = 1000;
const CONNECT_TIMEOUT_MS = 30_000;

type Mqtt = typeof import('mqtt');
let mqttModule: Promise<Mqtt> | undefined;

export interface MqttIdentityOptions {
  readonly host: string;
  readonly port: number;
  readonly ca: string | undefined;
  /** MqttWs: over a WebSocket (wss://host:port/$iothub/websocket, subprotocol mqtt). */
  readonly webSocket: boolean;
  readonly iotHubHostname: string;
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  /**
   * How its token is signed: with this edge device's key for the edge device's audience, the
   * identity named by the client id and user name (on behalf of it, as over AMQP; MQTT has no
   * link property for the auth chain, the parent checks the scope in its registry).
   */
  readonly credential: UpstreamCredential;
  readonly tokenTtlMs: number;
  readonly keepAliveSec: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly probeIntervalMs: number;
  readonly logger: Logger;
  /** This identity's connection is up (again): the store should deliver `$upstream` now. */
  readonly onConnected: () => void;
}

/** A PUBLISH from the parent; its PUBACK (QoS 1) is sent once `done` is called. */
export type InboundHandler = (topic: string, payload: Buffer, done: () => void) => void;

/** Told when this identity's connection opens (`up`) and when it goes (`down`). */
export interface ConnectionWatcher {
  up(): void;
  down(): void;
}

/** QoS of the relay's subscriptions (IoT Hub grants at most 1). */
const SUBSCRIBE_QOS = 1;

/**
 * One identity's MQTT connection to the parent, as an Azure IoT device SDK would open it (client id
 * `{d}` or `{d}/{m}`, user name `{hub}/{client id}/?api-version=…`, a SAS token as password,
 * MQTT 3.1.1, clean session): Azure's edge hub opens one such connection per identity when its
 * UpstreamProtocol is Mqtt. Telemetry is published with QoS 1 and settled by the PUBACK. mqtt.js
 * is loaded on the first connection (as the bridge does); its own reconnection and offline queue
 * are off: a new client per attempt carries a fresh token, and what is unacknowledged when a
 * connection goes is lost (the store sends it again, in order). The connection is also renewed
 * before its token expires (the SDKs reconnect with a new token the same way).
 */
export class MqttIdentityConnection {
  private client: MqttClient | undefined;
  private live = false;
  private closed = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private readonly unsettled = new Set<(outcome: DeliveryOutcome) => void>();
  private readonly filters = new Set<string>();
  private inbound: InboundHandler | undefined;
  private watcher: ConnectionWatcher | undefined;
  private readonly schedule: ReconnectSchedule;
  readonly identity: string;

  constructor(private readonly options: MqttIdentityOptions) {
    this.identity = options.moduleId === undefined ? options.deviceId : `${options.deviceId}/${options.moduleId}`;
    const { host, port } = options;
    this.schedule = ReconnectSchedule.from(options, {
      connect: () => void this.connect(),
      busy: () => this.client !== undefined,
      reachable: () => options.logger.info({ event: 'upstream.parent_reachable', host, port, identity: this.identity }, 'the parent is reachable again; reconnecting now'),
    });
    void this.connect();
  }

  get connected(): boolean {
    return this.live;
  }

  /** Publishes with QoS 1; false (nothing taken) when not connected. `onSettled` gets acked on PUBACK, lost when the connection goes first. */
  publish(topic: string, payload: Uint8Array, onSettled: (outcome: DeliveryOutcome) => void): boolean {
    const client = this.client;
    if (client === undefined || !this.live) return false;
    let settled = false;
    const settle = (outcome: DeliveryOutcome) => {
      if (settled) return;
      settled = true;
      this.unsettled.delete(settle);
      onSettled(outcome);
    };
    this.unsettled.add(settle);
    client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: TELEMETRY_QOS }, (error) => settle(error === undefined || error === null ? 'acked' : 'lost'));
    return true;
  }

  /** The relay's side: PUBLISHes from the parent, and the connection's ups and downs. */
  relayTo(inbound: InboundHandler, watcher: ConnectionWatcher): void {
    this.inbound = inbound;
    this.watcher = watcher;
    if (this.live) watcher.up();
  }

  /** The topic filters to hold on the parent: new ones subscribed now (if connected), old ones unsubscribed; all again on each connection. */
  setFilters(filters: readonly string[]): void {
    const next = new Set(filters);
    const client = this.live ? this.client : undefined;
    for (const filter of [...this.filters]) {
      if (next.has(filter)) continue;
      this.filters.delete(filter);
      client?.unsubscribe(filter, () => undefined);
    }
    for (const filter of next) {
      if (this.filters.has(filter)) continue;
      this.filters.add(filter);
      client?.subscribe(filter, { qos: SUBSCRIBE_QOS }, () => undefined);
    }
  }

  /** A request or answer of the relay (twin, method response), without settlement tracking; false when not connected. */
  send(topic: string, payload: string | Buffer): boolean {
    const client = this.client;
    if (client === undefined || !this.live) return false;
    client.publish(topic, payload, { qos: 0 });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.schedule.close();
    this.dropped();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  private async connect(): Promise<void> {
    if (this.closed || this.client !== undefined) return;
    const attempt = this.schedule.attempting();
    const { options } = this;
    mqttModule ??= import('mqtt');
    const mqtt = await mqttModule;
    if (this.closed || this.client !== undefined) return;
    const audience = tokenAudience(options.iotHubHostname, options.credential.signerDeviceId, options.credential.signerModuleId);
    const password = signSasToken(audience, options.credential.key, Math.floor((Date.now() + options.tokenTtlMs) / MS_PER_SEC));
    const clientOptions: IClientOptions = {
      // Over WebSocket mqtt.js offers the subprotocol `mqtt` and passes `ca` to the TLS layer itself.
      ...(options.webSocket ? { protocol: 'wss' as const, path: WebSocketWire.Path } : { protocol: 'mqtts' as const }),
      host: options.host,
      port: options.port,
      servername: options.host,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      clientId: this.identity,
      username: `${options.iotHubHostname}/${this.identity}/?api-version=${MQTT_API_VERSION}`,
      password,
      protocolVersion: 4,
      clean: true,
      keepalive: options.keepAliveSec,
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
    };
    const client = mqtt.connect(clientOptions);
    this.client = client;
    let lastError: unknown;
    client.on('error', (error) => {
      lastError = error;
    });
    // The PUBACK of an inbound PUBLISH waits for the relay (a C2D message: until the device settled it).
    client.handleMessage = (packet, callback) => {
      const inbound = this.inbound;
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      if (inbound === undefined) callback();
      else inbound(packet.topic, payload, () => callback());
    };
    client.on('connect', () => {
      if (this.client !== client) return;
      this.live = true;
      this.schedule.succeeded();
      // Subscriptions again on every connection: the session is clean.
      if (this.filters.size > 0) client.subscribe([...this.filters], { qos: SUBSCRIBE_QOS }, () => undefined);
      this.watcher?.up();
      options.logger.info({ event: 'upstream.mqtt_connected', identity: this.identity, host: options.host, port: options.port, attempt, webSocket: options.webSocket }, 'MQTT connection to the parent open for this identity');
      this.scheduleRenewal(client);
      options.onConnected();
    });
    client.once('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end(true);
      const wasLive = this.live;
      this.dropped();
      if (this.closed) return;
      if (this.renewing) {
        this.renewing = false;
        void this.connect();
        return;
      }
      if (wasLive) options.logger.warn({ event: 'upstream.disconnected', identity: this.identity, code: 'OUTPOST_UPSTREAM_UNREACHABLE', reason: describe(lastError) }, 'MQTT connection to the parent lost; reconnecting');
      this.scheduleReconnect(lastError);
    });
  }

  /** The connection is gone: nothing more is sent on it and every unacknowledged message is lost (sent again later, in order). */
  private dropped(): void {
    const wasLive = this.live;
    this.live = false;
    if (wasLive) this.watcher?.down();
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    const unsettled = [...this.unsettled];
    this.unsettled.clear();
    for (const settle of unsettled) settle('lost');
  }

  private scheduleRenewal(client: MqttClient): void {
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      if (this.client !== client) return;
      this.options.logger.info({ event: 'upstream.mqtt_token_renewal', identity: this.identity }, 'reconnecting with a fresh token before the current one expires');
      // The close handler reconnects at once: a renewal is not a failure.
      this.renewing = true;
      client.end(false);
    }, this.options.tokenTtlMs * RENEW_AT_SHARE);
    this.renewTimer.unref();
  }

  private scheduleReconnect(error: unknown): void {
    // A CONNACK refusal has a numeric code (5: not authorized); a network failure a string one.
    const refused = typeof (error as { code?: unknown } | undefined)?.code === 'number';
    const attempt = this.schedule.attempt;
    const { retryInMs, log } = this.schedule.failed(!refused);
    if (!log) return;
    const { options } = this;
    options.logger.warn(
      { event: refused ? 'upstream.token_refused' : 'upstream.connect_failed', identity: this.identity, host: options.host, port: options.port, attempt, retryInMs, code: refused ? 'OUTPOST_UPSTREAM_TOKEN_REFUSED' : 'OUTPOST_UPSTREAM_UNREACHABLE', reason: describe(error) },
      refused ? 'the parent refused this identity\'s MQTT CONNECT; its messages stay in the store' : 'cannot connect to the parent over MQTT; retrying',
    );
  }
}

function describe(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const { code, message } = error as { code?: string | number; message?: string };
  return [code, message].filter((part) => part !== undefined).join(': ') || String(error);
}
