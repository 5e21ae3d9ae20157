import type { BrokerMessage, QoS, Subscription } from './broker-message.js';
import { PacketIdSlots } from './packet-id-slots.js';

/** What a session needs from the connection currently attached to it. */
export interface SessionLink {
  readonly protocolVersion: 3 | 4 | 5;
  /** Sends a PUBLISH; returns false when the socket is congested (bytes queued past the limit). */
  sendPublish(message: BrokerMessage, qos: QoS, packetId: number | undefined, dup: boolean, retain: boolean, subscriptionIds: readonly number[]): boolean;
  sendPubrel(packetId: number): void;
  isCongested(): boolean;
  /**
   * QoS 1/2 PUBLISHes the connection has in flight outside this session (the MQTT transport's
   * hub-core deliveries: module inputs, C2D). They count against the client's Receive Maximum
   * together with the session's own (MQTT-3.3.4-9). Absent: none.
   */
  readonly otherInflight?: number;
}

/** One message waiting for delivery or acknowledgement to this session. */
export interface Outgoing {
  readonly message: BrokerMessage;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[];
  /** Durable sequence number when the session is persistent (store key), else 0. */
  seq: number;
  /**
   * Set when someone else owns the message's durability (the message store, for module inputs):
   * called once with true on PUBACK, or false when the session lets go of it unacknowledged
   * (disconnect, queue overflow). Such a message is never persisted or resent by the session.
   */
  readonly onSettled?: (acked: boolean) => void;
}

export interface SessionLimits {
  /** Outbound QoS 1/2 messages in flight at once (also capped by the client's Receive Maximum). */
  readonly maxInflight: number;
  /** Messages queued beyond the in-flight window; past it the oldest is dropped. */
  readonly maxQueued: number;
  /** Bytes (payload and topic) queued beyond the in-flight window; past it the oldest go. Absent: no byte bound. */
  readonly maxQueuedBytes?: number;
}

/**
 * The byte budget every session's queue draws on (`mqtt.maxQueuedBytesTotal`), shared by the
 * sessions of one broker. A message fanned out to several sessions counts once per session.
 */
export interface QueueBudget {
  usedBytes: number;
  readonly maxBytes: number;
}

/** Why a message to a session was dropped: its own queue bound, the broker's byte budget, congestion (QoS 0), expiry. */
export type DropReason = 'queue_full' | 'total_queue_full' | 'congested' | 'expired';

export interface SessionEvents {
  /** A message was dropped: a queue bound reached (QoS 1/2), the link congested (QoS 0), or it expired. */
  dropped(session: Session, reason: DropReason, message: BrokerMessage): void;
  /** A QoS 1/2 message to a persistent session was acknowledged: its durable copy can go. */
  acknowledged(session: Session, outgoing: Outgoing): void;
  /** A QoS 1/2 message to a persistent session was accepted into its queue: persist it. */
  queued(session: Session, outgoing: Outgoing): void;
}

const MAX_PACKET_ID = 65_535;
/**
 * The last packet id a session allocates. Ids above it belong to the connection (the MQTT
 * transport's outbound writer, for hub-core deliveries that never enter a session): a session's
 * ids outlive its connection (a persistent session resends its in-flight messages with the same
 * ids after a reconnect) while the connection's die with it, so two disjoint ranges never collide
 * and need no lookup in each other's maps on every message, as one shared allocator would.
 * 32767 ids stay far above any useful window (mqtt.maxInflight defaults to 1024).
 */
export const LAST_SESSION_PACKET_ID = 0x7fff;

/**
 * A client's session: its subscriptions and its outbound QoS 1/2 state, which outlive the
 * connection when the session is persistent. Delivery keeps a window of unacknowledged messages in
 * flight (never one-at-a-time) and a bounded queue behind it, so a slow subscriber costs only its
 * own memory and never slows the publishers or the other subscribers.
 */
export class Session {
  /**
   * The general-broker subscriptions by filter; made on the first (issue 20: an empty Map and its
   * table are about 300 B, kept by every connection of a client that never subscribes, as most
   * devices and every client of a connection storm).
   */
  private subscriptionTable: Map<string, Subscription> | undefined;
  /**
   * IoT Hub subscriptions of a device or module (module-inputs, methods, desired-properties,
   * twin-responses, c2d). They are not in the subscription trie: the hub delivers to them directly,
   * so no general-broker publish can reach a module input. Made on the first: general-broker
   * clients never have one.
   */
  iotHub: Set<string> | undefined;
  /** Packet ids of inbound QoS 2 PUBLISHes awaiting PUBREL (MQTT-4.3.3); made on the first (an empty Set is ~180 B per connection). */
  inboundQos2: Set<number> | undefined;
  /**
   * Outbound QoS 1/2 messages sent and not yet acknowledged, by packet id (not a Map: see
   * PacketIdSlots); made on the first (about 160 B a session that never receives QoS 1/2 keeps).
   */
  private inflightSlots: PacketIdSlots<Outgoing> | undefined;
  /** Packet ids of `inflight` QoS 2 messages past PUBREC: PUBREL sent, waiting for PUBCOMP; made on the first. */
  private releasing: Set<number> | undefined;
  /** Messages behind the in-flight window; NO_QUEUE (shared, never written) until the first. */
  private queue: Outgoing[] = NO_QUEUE;
  private queueHead = 0;
  /** Bytes of the messages in `queue` from `queueHead` on (messageBytes each). */
  private queueBytes = 0;
  private link: SessionLink | undefined;
  /** The in-flight window: mqtt.maxInflight, the client's Receive Maximum and the id range, the least. */
  private window = LAST_SESSION_PACKET_ID;
  /** Session expiry in seconds after disconnect; 0 = ends with the connection. */
  expiryIntervalSec: number;
  expiryTimer: NodeJS.Timeout | undefined;
  /** True once the session has been written to the broker store (so discarding must delete it). */
  stored = false;
  /**
   * Who the transport authenticated for this session (opaque here; the authorization policy reads
   * it when it changes). Kept with a persistent session, so a restored one is checked too.
   */
  owner: unknown = undefined;

  constructor(
    readonly clientId: string,
    expiryIntervalSec: number,
    private readonly limits: SessionLimits,
    private readonly events: SessionEvents,
    private readonly budget: QueueBudget = { usedBytes: 0, maxBytes: Number.POSITIVE_INFINITY },
  ) {
    this.expiryIntervalSec = expiryIntervalSec;
  }

  get subscriptions(): ReadonlyMap<string, Subscription> {
    return this.subscriptionTable ?? NO_SUBSCRIPTIONS;
  }

  /** Adds or replaces the subscription of its filter (the broker keeps its index in step). */
  setSubscription(subscription: Subscription): void {
    (this.subscriptionTable ??= new Map()).set(subscription.filter, subscription);
  }

  removeSubscription(filter: string): void {
    this.subscriptionTable?.delete(filter);
  }

  /** What is in flight; NO_INFLIGHT (empty, only read) until the first message is sent. */
  private get inflight(): PacketIdSlots<Outgoing> {
    return this.inflightSlots ?? (NO_INFLIGHT as PacketIdSlots<Outgoing>);
  }

  get persistent(): boolean {
    return this.expiryIntervalSec > 0;
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  get queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  /** Bytes (payload and topic) of the queued messages, as the queue bounds count them. */
  get queuedBytes(): number {
    return this.queueBytes;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Attaches a connection; resends what was in flight (DUP) and drains the queue (MQTT-4.4.0-1). */
  attach(link: SessionLink, receiveMaximum: number | undefined): void {
    this.link = link;
    this.window = Math.min(this.limits.maxInflight, receiveMaximum ?? MAX_PACKET_ID, LAST_SESSION_PACKET_ID);
    // Nothing to resend is the common case, and the check allocates nothing (a connection storm).
    if (this.inflight.size > 0) this.resend(link);
    this.drain();
  }

  private resend(link: SessionLink): void {
    for (const packetId of this.inflight.ids()) {
      const item = this.inflight.get(packetId)!;
      if (this.releasing?.has(packetId) === true) link.sendPubrel(packetId);
      else link.sendPublish(item.message, item.qos, packetId, true, item.retain, item.subscriptionIds);
    }
  }

  detach(): void {
    this.link = undefined;
    // QoS 0 is never kept for an offline client; QoS 1/2 stays (queued and in flight), except
    // what its owner redelivers itself: it is handed back now, so it is not sent twice. Most
    // sessions have nothing in flight or queued, and then nothing is allocated here.
    if (this.inflight.size > 0) this.handBackInflight();
    if (this.queuedCount > 0) this.handBackQueued();
  }

  private handBackInflight(): void {
    for (const packetId of this.inflight.ids()) {
      const item = this.inflight.get(packetId)!;
      if (item.onSettled === undefined) continue;
      this.inflight.take(packetId);
      this.releasing?.delete(packetId);
      item.onSettled(false);
    }
  }

  private handBackQueued(): void {
    if (this.queue.some((item, i) => i >= this.queueHead && item.onSettled !== undefined)) {
      const released = this.queue.slice(this.queueHead).filter((item) => item.onSettled !== undefined);
      this.queue = this.queue.slice(this.queueHead).filter((item) => item.onSettled === undefined);
      this.queueHead = 0;
      for (const item of released) this.unaccount(item);
      for (const item of released) item.onSettled!(false);
    }
  }

  /** The session is gone (discarded or expired): its queue stops counting against the broker's budget. */
  release(): void {
    this.budget.usedBytes -= this.queueBytes;
    this.queueBytes = 0;
    this.queue = NO_QUEUE;
    this.queueHead = 0;
  }

  /** Offers a message. QoS 0 goes out now or is dropped; QoS 1/2 is sent or queued. */
  deliver(outgoing: Outgoing): void {
    const link = this.link;
    if (outgoing.qos === 0) {
      if (link === undefined) return;
      if (isExpired(outgoing.message)) return this.events.dropped(this, 'expired', outgoing.message);
      if (link.isCongested()) return this.events.dropped(this, 'congested', outgoing.message);
      link.sendPublish(outgoing.message, 0, undefined, false, outgoing.retain, outgoing.subscriptionIds);
      return;
    }
    if (link !== undefined && this.queuedCount === 0 && this.hasWindow(link) && !link.isCongested()) {
      if (this.persistent && outgoing.onSettled === undefined) this.events.queued(this, outgoing);
      this.send(link, outgoing);
      return;
    }
    this.enqueue(outgoing, true);
  }

  /** Restores a message from the durable store after a restart (already persisted). */
  restore(outgoing: Outgoing): void {
    this.enqueue(outgoing, false);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) for an outbound message. */
  complete(packetId: number): boolean {
    const item = this.inflight.take(packetId);
    if (item === undefined) return false;
    this.releasing?.delete(packetId);
    if (this.persistent) this.events.acknowledged(this, item);
    item.onSettled?.(true);
    this.drain();
    return true;
  }

  /** PUBREC for an outbound QoS 2 message: answer PUBREL and wait for PUBCOMP. */
  received(packetId: number): boolean {
    const item = this.inflight.get(packetId);
    if (item === undefined || item.qos !== 2) return false;
    (this.releasing ??= new Set()).add(packetId);
    this.link?.sendPubrel(packetId);
    return true;
  }

  /** Everything still owed to this client, for persisting or inspection. */
  pending(): Outgoing[] {
    return [...this.inflight.valuesInOrder(), ...this.queue.slice(this.queueHead)];
  }

  /** Moves queued messages into the in-flight window while it has room. */
  drain(): void {
    const link = this.link;
    if (link === undefined) return;
    while (this.queueHead < this.queue.length && this.hasWindow(link) && !link.isCongested()) {
      const next = this.takeOldest();
      if (isExpired(next.message)) {
        this.events.dropped(this, 'expired', next.message);
        if (this.persistent) this.events.acknowledged(this, next);
        continue;
      }
      this.send(link, next);
    }
    this.compactQueue();
  }

  /** The link's other in-flight PUBLISHes share the client's Receive Maximum (and mqtt.maxInflight) with the session's. */
  private hasWindow(link: SessionLink): boolean {
    return this.inflight.size + (link.otherInflight ?? 0) < this.window;
  }

  private send(link: SessionLink, outgoing: Outgoing): void {
    const packetId = (this.inflightSlots ??= new PacketIdSlots<Outgoing>(1, LAST_SESSION_PACKET_ID)).add(outgoing);
    link.sendPublish(outgoing.message, outgoing.qos, packetId, false, outgoing.retain, outgoing.subscriptionIds);
  }

  /**
   * Queues a message behind the in-flight window. Bounded memory per session and in total: the
   * session's oldest queued messages give way until the new one fits its message and byte bounds
   * and the broker's byte budget; a message that still does not fit (larger than a bound on its
   * own, or the budget is spent by other sessions) is dropped itself. Documented in docs/mqtt.md.
   * O(1) per message, amortized: each message is dropped at most once. `fresh`: not yet persisted.
   */
  private enqueue(outgoing: Outgoing, fresh: boolean): void {
    const bytes = messageBytes(outgoing.message);
    const maxBytes = this.limits.maxQueuedBytes ?? Number.POSITIVE_INFINITY;
    const budget = this.budget;
    // What cannot fit even with this session's queue emptied goes at once, taking nothing with it.
    if (this.limits.maxQueued === 0 || bytes > maxBytes) return this.drop(outgoing, 'queue_full');
    if (budget.usedBytes - this.queueBytes + bytes > budget.maxBytes) return this.drop(outgoing, 'total_queue_full');
    for (;;) {
      const sessionFull = this.queuedCount >= this.limits.maxQueued || this.queueBytes + bytes > maxBytes;
      const totalFull = budget.usedBytes + bytes > budget.maxBytes;
      if (!sessionFull && !totalFull) break;
      this.drop(this.takeOldest(), sessionFull ? 'queue_full' : 'total_queue_full');
    }
    if (fresh && this.persistent && outgoing.onSettled === undefined) this.events.queued(this, outgoing);
    if (this.queue === NO_QUEUE) this.queue = [];
    this.queue.push(outgoing);
    this.queueBytes += bytes;
    budget.usedBytes += bytes;
    this.compactQueue();
  }

  /** Removes the head of the queue (the caller knows it is not empty). */
  private takeOldest(): Outgoing {
    const oldest = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as Outgoing;
    this.queueHead += 1;
    this.unaccount(oldest);
    return oldest;
  }

  private unaccount(item: Outgoing): void {
    const bytes = messageBytes(item.message);
    this.queueBytes -= bytes;
    this.budget.usedBytes -= bytes;
  }

  /** A QoS 1/2 message given up: counted and logged, its durable copy deleted, its owner told. */
  private drop(item: Outgoing, reason: DropReason): void {
    this.events.dropped(this, reason, item.message);
    if (this.persistent) this.events.acknowledged(this, item);
    item.onSettled?.(false);
  }

  private compactQueue(): void {
    // Amortized O(1) dequeue without shifting on every message.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

}

/** Shared by every session until its first subscription, message in flight or queued message; never written. */
const NO_SUBSCRIPTIONS: ReadonlyMap<string, Subscription> = new Map();
const NO_INFLIGHT = new PacketIdSlots<never>(1, LAST_SESSION_PACKET_ID);
const NO_QUEUE: Outgoing[] = [];

/** What a queued message counts against the byte bounds: payload and topic (O(1); the topic's length in UTF-16 units). */
function messageBytes(message: BrokerMessage): number {
  return message.payload.length + message.topic.length;
}

function isExpired(message: BrokerMessage): boolean {
  return message.expiresAtMs !== undefined && message.expiresAtMs <= Date.now();
}
