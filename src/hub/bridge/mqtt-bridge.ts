import type { IPublishPacket } from 'mqtt';
import { RateLimitedLog, type Logger } from '../../log/index.js';
import type { Broker, BrokerMessage, QoS, Session, SessionLink } from '../broker/index.js';
import { ParentBrokerClient, REASON_FAILURE, type ParentBrokerOptions } from './parent-broker-client.js';
import type { BridgeRule } from './parse-bridges.js';
import { rewriteTopic, sourceFilter } from './rewrite-topic.js';

/**
 * The MQTT bridge between this hub's general broker and its parent's (docs/bridge.md): `out` and
 * `both` rules carry local topics up, `in` and `both` rules carry the parent's topics down, each
 * renamed by its prefixes (rewrite-topic.ts).
 *
 * The local side is a session of this hub's own broker, in process (no socket, no
 * authentication: Azure's bridge uses the broker's internal system listener): it subscribes to
 * the `out` filters and publishes what comes `in`. It is persistent and never expires, so while
 * the parent is away the broker queues the `out` messages for it, bounded like any session's
 * queue (mqtt.maxQueuedMessages, mqtt.maxQueuedBytes, mqtt.maxQueuedBytesTotal; the oldest go
 * first, counted and logged as broker.message_dropped) and durable when the broker's store is.
 *
 * Acknowledgements: an `out` message leaves the local session (the broker deletes its copy) only
 * on the parent's PUBACK; an `in` message is acknowledged to the parent only once the local
 * broker took it (written, when a persistent subscriber needed it).
 *
 * Loop prevention: both subscriptions use No Local (MQTT 5), so a message the bridge published on
 * one side is never handed back to it on that side; a message that came `in` never goes back `out`,
 * with or without prefixes.
 */

export interface MqttBridgeOptions {
  readonly broker: Broker;
  /** The local session's client id; a client id on the wire cannot take it (see open-bridge.ts). */
  readonly clientId: string;
  /** How to reach the parent's broker; undefined when this edge device has no upstream. */
  readonly parent: Omit<ParentBrokerOptions, 'events' | 'logger'> | undefined;
  /** The broker's in-flight bound (mqtt.maxInflight), also capped by the parent's Receive Maximum. */
  readonly maxInflight: number;
  readonly logger: Logger;
}

/** MQTT 5: a session that never expires (0xFFFFFFFF). */
const SESSION_NEVER_EXPIRES = 0xffff_ffff;
/** Reason codes of a PUBACK that will not change on a retry: the message is dropped. */
const PERMANENT_REFUSALS: ReadonlySet<number> = new Set([0x87, 0x90, 0x95, 0x99]);

export interface BridgeCounters {
  /** Local messages acknowledged by the parent. */
  forwardedOut: number;
  /** Parent messages taken by the local broker. */
  forwardedIn: number;
  /** Messages (one per rule) whose rewritten topic was empty or invalid. */
  droppedTopic: number;
  /** Local messages the parent refused for good (PUBACK 0x87 and the like). */
  refusedByParent: number;
}

export class MqttBridge {
  readonly counters: BridgeCounters = { forwardedOut: 0, forwardedIn: 0, droppedTopic: 0, refusedByParent: 0 };
  private outRules: readonly BridgeRule[] = [];
  private inRules: readonly BridgeRule[] = [];
  /** The rules in force, as JSON; undefined until the first apply (which also clears a session left by an earlier run). */
  private applied: string | undefined;
  private remote: ParentBrokerClient | undefined;
  /** The link the local session sends through while the parent is connected. */
  private link: BridgeLink | undefined;
  private readonly dropLog: RateLimitedLog;
  private closed = false;

  constructor(private readonly options: MqttBridgeOptions) {
    this.dropLog = new RateLimitedLog(options.logger);
  }

  /** Replaces the rules (a new deployment), without a restart; none stops the bridge and forgets its queue. */
  apply(rules: readonly BridgeRule[]): void {
    if (this.closed) return;
    const text = JSON.stringify(rules);
    const { broker, logger } = this.options;
    if (text === this.applied) return;
    this.applied = text;
    this.outRules = rules.filter((rule) => rule.direction !== 'in');
    this.inRules = rules.filter((rule) => rule.direction !== 'out');
    if (rules.length === 0 || this.options.parent === undefined) {
      if (rules.length > 0) logger.warn({ event: 'bridge.no_upstream', code: 'OUTPOST_BRIDGE_NO_UPSTREAM', rules: rules.length }, 'the deployment has mqttBroker.bridges but this edge device has no parent (upstream.hostname): the bridge does not run');
      void this.stopRemote();
      if (broker.session(this.options.clientId) !== undefined) {
        this.discardSession();
        logger.info({ event: 'bridge.stopped' }, 'MQTT bridge stopped; its queued messages are discarded');
      }
      return;
    }
    const session = this.localSession();
    const outFilters = new Set(this.outRules.map(sourceFilter));
    const gone = [...session.subscriptions.keys()].filter((filter) => !outFilters.has(filter));
    if (gone.length > 0) broker.unsubscribe(session, gone);
    const added = [...outFilters].filter((filter) => !session.subscriptions.has(filter));
    // No Local: what the bridge published here (it came `in`) is never handed back to it to go `out`.
    // Retain Handling 1: retained messages go up once, when a filter is new, not on every restart.
    if (added.length > 0) {
      broker.subscribe(
        session,
        added.map((filter) => ({ clientId: session.clientId, filter, qos: 1 as QoS, noLocal: true, retainAsPublished: false, retainHandling: 1 as const, subscriptionId: undefined, shareGroup: undefined })),
      );
    }
    if (this.remote === undefined) {
      this.remote = new ParentBrokerClient({ ...this.options.parent, logger, events: this.remoteEvents() });
      this.remote.setFilters([...new Set(this.inRules.map(sourceFilter))]);
      this.remote.start();
    } else this.remote.setFilters([...new Set(this.inRules.map(sourceFilter))]);
    logger.info({ event: 'bridge.applied', out: [...outFilters], in: [...new Set(this.inRules.map(sourceFilter))] }, 'MQTT bridge rules applied');
  }

  /** The local session, when it exists. */
  localSessionIfAny(): Session | undefined {
    return this.options.broker.session(this.options.clientId);
  }

  /** Stops the remote side; the local session stays (persistent) with its queue, for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopRemote();
    this.closed = true;
  }

  private async stopRemote(): Promise<void> {
    const remote = this.remote;
    this.remote = undefined;
    await remote?.close();
  }

  /** The bridge's persistent local session, created detached when missing (messages queue until the parent connects). */
  private localSession(): Session {
    const { broker, clientId } = this.options;
    const existing = broker.session(clientId);
    if (existing !== undefined) return existing;
    const { session } = broker.connect(clientId, false, SESSION_NEVER_EXPIRES, PARKED, undefined);
    broker.disconnect(session);
    return session;
  }

  private discardSession(): void {
    const { broker, clientId } = this.options;
    // A clean start on a session that ends with its connection: the broker drops it and its queue.
    const { session } = broker.connect(clientId, true, 0, PARKED, undefined);
    broker.disconnect(session, 0);
  }

  private remoteEvents(): ParentBrokerOptions['events'] {
    const { broker, clientId, logger } = this.options;
    return {
      connected: (receiveMaximum) => {
        if (this.closed) return;
        this.link?.deactivate();
        const link = new BridgeLink(this);
        this.link = link;
        const session = this.localSession();
        // Resends what the parent never acknowledged (DUP), then drains the queue (MQTT-4.4.0-1).
        broker.connect(clientId, false, SESSION_NEVER_EXPIRES, link, Math.min(receiveMaximum, this.options.maxInflight));
        logger.debug({ event: 'bridge.local_attached', queued: session.queuedCount, inflight: session.inflightCount }, 'local bridge session attached');
      },
      disconnected: () => {
        this.link?.deactivate();
        this.link = undefined;
        const session = broker.session(clientId);
        if (session !== undefined && session.connected) broker.disconnect(session);
      },
      message: (packet, done) => this.fromParent(packet, done),
      subscribeRefused: (filter, reasonCode) => {
        logger.error(
          { event: 'bridge.subscribe_refused', code: 'OUTPOST_BRIDGE_SUBSCRIBE_REFUSED', filter, reasonCode },
          "the parent's broker refused the bridge's subscription (its authorization policy must allow this edge device mqtt:subscribe on it); the bridge's other rules keep working",
        );
      },
    };
  }

  /** `in`: a parent's PUBLISH becomes one local publish per matching rule; acknowledged once the broker has them all. */
  private fromParent(packet: IPublishPacket, done: (error?: Error) => void): void {
    const { broker, clientId } = this.options;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const waits: Promise<void>[] = [];
    const topics = new Set<string>();
    for (const rule of this.inRules) {
      const topic = this.rewrite(rule, packet.topic, 'in');
      if (topic === undefined || topics.has(topic)) continue;
      topics.add(topic);
      broker.publish(toLocalMessage(topic, payload, packet, clientId));
      const wait = broker.durability();
      if (wait !== undefined) waits.push(wait);
    }
    if (topics.size > 0) this.counters.forwardedIn += 1;
    if (waits.length === 0) return done();
    Promise.all(waits).then(
      () => done(),
      (error: unknown) => {
        // Not taken (the local store refuses writes): no PUBACK; the parent sends it again on the next connection.
        this.options.logger.warn({ event: 'bridge.local_refused', code: 'OUTPOST_BRIDGE_UNREACHABLE', topic: packet.topic, reason: (error as Error).message }, 'the local broker did not take a message from the parent; reconnecting so the parent sends it again');
        done(error as Error);
        this.remote?.restart('local broker refused a message');
      },
    );
  }

  /** `out`: a message of the local session, published to the parent once per matching rule; `settle` when the parent acknowledged them all (or refused them for good). */
  toParent(message: BrokerMessage, qos: QoS, retain: boolean, isActive: () => boolean, settle: () => void): void {
    const remote = this.remote;
    const topics = new Set<string>();
    for (const rule of this.outRules) {
      const topic = this.rewrite(rule, message.topic, 'out');
      if (topic !== undefined) topics.add(topic);
    }
    if (remote === undefined || topics.size === 0) return settle();
    const properties = toRemoteProperties(message);
    const sends = [...topics].map((topic) =>
      remote.publish(topic, message.payload, qos === 0 ? 0 : 1, retain, properties).catch((error: unknown) => {
        const reasonCode = (error as { code?: unknown }).code;
        if (typeof reasonCode === 'number' && reasonCode >= REASON_FAILURE && PERMANENT_REFUSALS.has(reasonCode)) {
          this.counters.refusedByParent += 1;
          this.dropLog.warn(`refused:${topic}`, { event: 'bridge.publish_refused', code: 'OUTPOST_BRIDGE_PUBLISH_REFUSED', topic, reasonCode }, "the parent's broker refused a bridged message (its policy must allow this edge device mqtt:publish on the topic): dropped");
          return;
        }
        // Anything else: not acknowledged; it stays in the local session and goes again on the next connection.
        if (isActive() && typeof reasonCode === 'number') this.remote?.restart(`the parent answered PUBACK ${reasonCode}`);
        throw error;
      }),
    );
    Promise.all(sends).then(
      () => {
        if (!isActive()) return;
        this.counters.forwardedOut += 1;
        settle();
      },
      () => undefined,
    );
  }

  private rewrite(rule: BridgeRule, topic: string, side: 'in' | 'out'): string | undefined {
    const result = rewriteTopic(rule, topic);
    if (result.kind === 'forward') return result.topic;
    if (result.kind === 'skip') return undefined;
    this.counters.droppedTopic += 1;
    this.dropLog.warn(
      `topic:${side}:${sourceFilter(rule)}`,
      { event: 'bridge.topic_dropped', code: 'OUTPOST_BRIDGE_TOPIC_DROPPED', direction: side, topic, filter: sourceFilter(rule), reason: result.kind === 'empty' ? 'the rewritten topic is empty' : result.reason },
      'a bridged message was dropped: its rewritten topic is not a topic name',
    );
    return undefined;
  }
}

/** The local session's link while the parent is connected: each PUBLISH goes to the parent, completed on its PUBACK. */
class BridgeLink implements SessionLink {
  readonly protocolVersion = 5;
  private active = true;

  constructor(private readonly bridge: MqttBridge) {}

  deactivate(): void {
    this.active = false;
  }

  sendPublish(message: BrokerMessage, qos: QoS, packetId: number | undefined, _dup: boolean, retain: boolean): boolean {
    const isActive = () => this.active;
    this.bridge.toParent(message, qos, retain, isActive, () => {
      if (packetId !== undefined && this.active) this.session()?.complete(packetId);
    });
    return true;
  }

  /** The bridge subscribes with QoS 1: no QoS 2 flow reaches it. */
  sendPubrel(): void {}

  isCongested(): boolean {
    return !this.active;
  }

  private session(): Session | undefined {
    return this.bridge.localSessionIfAny();
  }
}

/** A link for the instant a session is created or discarded while the parent is away: it takes nothing. */
const PARKED: SessionLink = {
  protocolVersion: 5,
  sendPublish: () => false,
  sendPubrel: () => undefined,
  isCongested: () => true,
};

function toLocalMessage(topic: string, payload: Buffer, packet: IPublishPacket, senderClientId: string): BrokerMessage {
  const { topicAlias: _alias, subscriptionIdentifier: _ids, messageExpiryInterval, ...rest } = packet.properties ?? {};
  return {
    topic,
    payload,
    qos: Math.min(packet.qos, 1) as QoS,
    retain: packet.retain,
    properties: Object.keys(rest).length > 0 ? rest : undefined,
    expiresAtMs: messageExpiryInterval === undefined ? undefined : Date.now() + messageExpiryInterval * 1000,
    senderClientId,
  };
}

function toRemoteProperties(message: BrokerMessage): IPublishPacket['properties'] {
  const remainingSec = message.expiresAtMs === undefined ? undefined : Math.max(1, Math.ceil((message.expiresAtMs - Date.now()) / 1000));
  if (message.properties === undefined && remainingSec === undefined) return undefined;
  return { ...(message.properties ?? {}), ...(remainingSec === undefined ? {} : { messageExpiryInterval: remainingSec }) };
}
