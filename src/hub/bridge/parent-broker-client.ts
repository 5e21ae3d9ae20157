import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from '../../log/index.js';
import { ReconnectSchedule } from '../upstream/index.js';

/**
 * The bridge's remote side: an MQTT 5 client to the parent's broker (mqtt.js, loaded only when a
 * bridge is configured), as this edge device with a SAS token, keep-alive 60 s and a persistent
 * session (clean start false), as Azure's bridge connects (notes 7, "Bridge upstream").
 *
 * mqtt.js does the protocol (TLS, keep-alive, packet ids, QoS 1 flows, SUBACK/PUBACK reason
 * codes); this class owns what mqtt.js does not do the way the bridge needs: one fresh client per
 * connection attempt (a fresh SAS token each time; mqtt.js' own offline queue and resubscription
 * are off, the local session holds what is unacknowledged), and reconnection on the upstream
 * link's ReconnectSchedule (backoff, and a TCP probe when the parent was out of reach).
 */

export interface ParentBrokerEvents {
  /** CONNACK received; `receiveMaximum` is the parent's (MQTT 5), 65535 when it sets none. */
  connected(receiveMaximum: number, sessionPresent: boolean): void;
  /** The connection that `connected` announced is gone. */
  disconnected(): void;
  /** A PUBLISH from the parent; its PUBACK is sent only after `done()` (not at all after `done(error)`). */
  message(packet: IPublishPacket, done: (error?: Error) => void): void;
  /** The parent refused a subscription (SUBACK reason code ≥ 0x80). */
  subscribeRefused(filter: string, reasonCode: number): void;
}

export interface ParentBrokerOptions {
  readonly host: string;
  readonly port: number;
  /** PEM CA(s) the parent's certificate chains to; undefined: Node's default CAs. */
  readonly ca: string | undefined;
  readonly clientId: string;
  readonly username: string;
  /** A fresh password (SAS token) for each connection attempt. */
  readonly password: () => string;
  readonly keepAliveSec: number;
  readonly sessionExpirySec: number;
  readonly connectTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly probeIntervalMs: number;
  readonly logger: Logger;
  readonly events: ParentBrokerEvents;
}

/** MQTT 5 "No matching subscribers": the PUBACK of a message nobody subscribed to; a success. */
const NO_MATCHING_SUBSCRIBERS = 0x10;
/** SUBACK and PUBACK reason codes from this value on are failures (MQTT 5 section 2.4). */
export const REASON_FAILURE = 0x80;
/** QoS of every bridge subscription and forwarded message. */
const BRIDGE_QOS = 1;
/** Inbound PUBLISHes the parent may have in flight to us (our Receive Maximum). */
const RECEIVE_MAXIMUM = 100;

type Mqtt = typeof import('mqtt');
let mqttModule: Promise<Mqtt> | undefined;

export class ParentBrokerClient {
  private client: MqttClient | undefined;
  private live = false;
  private closed = false;
  private started = false;
  private readonly filters = new Set<string>();
  private readonly schedule: ReconnectSchedule;

  constructor(private readonly options: ParentBrokerOptions) {
    const { host, port } = options;
    this.schedule = ReconnectSchedule.from(options, {
      connect: () => void this.connect(),
      busy: () => this.client !== undefined,
      reachable: () => options.logger.info({ event: 'bridge.parent_reachable', host, port }, "the parent's broker is reachable again; reconnecting now"),
    });
  }

  get connected(): boolean {
    return this.live;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.connect();
  }

  /** The filters to hold on the parent: the new ones are subscribed now (if connected), the old ones unsubscribed; all again after each reconnect. */
  setFilters(filters: readonly string[]): void {
    const next = new Set(filters);
    const client = this.live ? this.client : undefined;
    for (const filter of this.filters) {
      if (next.has(filter)) continue;
      this.filters.delete(filter);
      client?.unsubscribe(filter, () => undefined);
    }
    for (const filter of next) {
      if (this.filters.has(filter)) continue;
      this.filters.add(filter);
      if (client !== undefined) this.subscribe(client, filter);
    }
  }

  /**
   * Publishes with QoS 1 (or 0); resolves on the parent's PUBACK. Rejects when the connection
   * ends first (the caller's copy is sent again on the next connection), or with the reason code
   * (`reasonCode`) when the parent refused it.
   */
  publish(topic: string, payload: Buffer, qos: 0 | 1, retain: boolean, properties: IPublishPacket['properties']): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.live) return Promise.reject(new Error('not connected to the parent'));
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos, retain, ...(properties === undefined ? {} : { properties }) }, (error, packet) => {
        const reasonCode = (packet as { reasonCode?: number } | undefined)?.reasonCode;
        if (error === undefined || error === null || reasonCode === NO_MATCHING_SUBSCRIBERS) resolve();
        else reject(error);
      });
    });
  }

  /** Ends the current connection (its unacknowledged PUBLISHes come again on the next one) and reconnects after the backoff. */
  restart(reason: string): void {
    const client = this.client;
    if (client === undefined) return;
    this.options.logger.warn({ event: 'bridge.reconnecting', code: 'OUTPOST_BRIDGE_UNREACHABLE', reason }, 'ending the connection to the parent and reconnecting');
    client.end(true);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.schedule.close();
    const client = this.client;
    this.client = undefined;
    if (this.live) {
      this.live = false;
      this.options.events.disconnected();
    }
    if (client !== undefined) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  private async connect(): Promise<void> {
    if (this.closed || this.client !== undefined) return;
    this.schedule.attempting();
    const { options } = this;
    mqttModule ??= import('mqtt');
    const mqtt = await mqttModule;
    if (this.closed || this.client !== undefined) return;
    let password: string;
    try {
      password = options.password();
    } catch (error) {
      // No credentials: waiting for the parent to come back would not help; retried at the backoff's pace.
      this.scheduleReconnect(error, true);
      return;
    }
    const clientOptions: IClientOptions = {
      protocol: 'mqtts',
      host: options.host,
      port: options.port,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      clientId: options.clientId,
      username: options.username,
      password,
      protocolVersion: 5,
      clean: false,
      keepalive: options.keepAliveSec,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      properties: { sessionExpiryInterval: options.sessionExpirySec, receiveMaximum: RECEIVE_MAXIMUM },
    };
    const client = mqtt.connect(clientOptions);
    this.client = client;
    let lastError: unknown;
    // The PUBACK of an inbound message waits for the local broker to have taken it (mqtt.js sends
    // it when this callback is called without an error).
    client.handleMessage = (packet, callback) => options.events.message(packet, (error) => callback(error));
    client.on('error', (error) => {
      lastError = error;
    });
    client.on('connect', (connack) => {
      if (this.client !== client) return;
      this.live = true;
      this.schedule.succeeded();
      options.logger.info({ event: 'bridge.connected', host: options.host, port: options.port, sessionPresent: connack.sessionPresent }, 'MQTT bridge connected to the parent');
      // Subscriptions are sent again on every connection: the parent may have lost its session (restarted in memory).
      for (const filter of this.filters) this.subscribe(client, filter);
      options.events.connected(connack.properties?.receiveMaximum ?? 65_535, connack.sessionPresent);
    });
    client.once('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end(true);
      if (this.live) {
        this.live = false;
        options.logger.warn({ event: 'bridge.disconnected', code: 'OUTPOST_BRIDGE_UNREACHABLE', host: options.host, port: options.port, reason: describe(lastError) }, 'MQTT bridge lost its connection to the parent');
        options.events.disconnected();
      }
      this.scheduleReconnect(lastError);
    });
  }

  private subscribe(client: MqttClient, filter: string): void {
    // No Local: what this bridge publishes on the parent never comes back to it (loop prevention for "both").
    client.subscribe(filter, { qos: BRIDGE_QOS, nl: true, rh: 0 }, (error) => {
      if (error === null || error === undefined) return;
      // mqtt.js rejects with the SUBACK packet attached (ErrorWithSubackPacket).
      const reasonCode = (error as { packet?: { granted?: number[] } }).packet?.granted?.[0];
      if (typeof reasonCode === 'number' && reasonCode >= REASON_FAILURE) this.options.events.subscribeRefused(filter, reasonCode);
    });
  }

  /** `refused`: the parent (or our own credentials) said no, as opposed to a parent out of reach. */
  private scheduleReconnect(error: unknown, refused = typeof (error as { code?: unknown } | undefined)?.code === 'number'): void {
    if (this.closed) return;
    const { options } = this;
    const attempt = this.schedule.attempt;
    const { retryInMs, log } = this.schedule.failed(!refused);
    if (!log) return;
    options.logger.warn(
      { event: 'bridge.connect_failed', host: options.host, port: options.port, attempt, retryInMs, code: refused ? 'OUTPOST_BRIDGE_CONNECT_REFUSED' : 'OUTPOST_BRIDGE_UNREACHABLE', reason: describe(error) },
      refused ? "the parent's broker refused the bridge's CONNECT; retrying" : "cannot connect to the parent's broker; retrying",
    );
  }
}

function describe(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const { code, message } = error as { code?: string | number; message?: string };
  return [code, message].filter((part) => part !== undefined).join(': ') || String(error);
}
