import type { Logger } from '../../log/index.js';
import { RateLimitedLog } from '../../log/index.js';
import type { BrokerMessage, QoS, Subscription } from './broker-message.js';
import type { BrokerStore, StoredSession } from './broker-store.js';
import { RetainedStore } from './retained-store.js';
import { SessionQuota } from './session-quota.js';
import { Session, type Outgoing, type QueueBudget, type SessionEvents, type SessionLimits, type SessionLink } from './session.js';
import type { TopicFilterIndex } from '../../native/index.js';
import { IndexedSubscriptions } from './indexed-subscriptions.js';
import { judgeFullCache, MATCH_CACHE_BYPASS, MATCH_CACHE_LIMIT } from './match-cache-policy.js';
import { SubscriptionTrie, type SubscriptionMatcher } from './subscription-trie.js';

/** Bounds of the whole broker on top of each session's (docs/mqtt.md, "Limits"). */
export interface BrokerLimits extends SessionLimits {
  /** Bytes queued across every session (`mqtt.maxQueuedBytesTotal`). Absent: no total bound. */
  readonly maxQueuedBytesTotal?: number;
  /**
   * Persistent sessions (connected or waiting) one owner may hold (`mqtt.maxSessionsPerIdentity`);
   * owners are told apart by `BrokerOptions.ownerKey`. Absent: no bound.
   */
  readonly maxSessionsPerOwner?: number;
}

export interface BrokerOptions {
  readonly limits: BrokerLimits;
  /**
   * The key a session's owner (opaque here) is counted under for `limits.maxSessionsPerOwner`;
   * undefined: not counted. Absent: no session is counted.
   */
  readonly ownerKey?: (owner: unknown) => string | undefined;
  readonly store: BrokerStore;
  readonly logger: Logger;
  /**
   * When given (the native addon is loaded), non-shared subscriptions are matched by this topic
   * filter index instead of SubscriptionTrie; same matches, same order.
   */
  readonly createTopicFilterIndex?: () => TopicFilterIndex;
}

export interface BrokerCounters {
  published: number;
  delivered: number;
  droppedQueueFull: number;
  /** Dropped because the queues of all sessions together reached `maxQueuedBytesTotal`. */
  droppedTotalQueueFull: number;
  droppedCongested: number;
  droppedExpired: number;
}

const NO_GROUPS: readonly ShareGroup[] = [];

/** One shared-subscription group on one filter; members take turns (MQTT 5 section 4.8.2). */
interface ShareGroup {
  readonly members: Map<string, Subscription>;
  next: number;
}

interface Delivery {
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[];
}

/**
 * The general MQTT broker: sessions, the subscription trie, shared subscriptions and retained
 * messages. It knows nothing of sockets or packets (the MQTT adapter owns those), so the same core
 * serves TCP, TLS and WebSocket clients. Message path: publish → trie match → per session one
 * delivery at the highest matching QoS capped by the publish QoS, carrying every matching
 * subscription identifier.
 */
export class Broker {
  readonly counters: BrokerCounters = { published: 0, delivered: 0, droppedQueueFull: 0, droppedTotalQueueFull: 0, droppedCongested: 0, droppedExpired: 0 };
  private readonly sessions = new Map<string, Session>();
  /** Bytes queued across every session, against `limits.maxQueuedBytesTotal`. */
  private readonly queueBudget: QueueBudget;
  private readonly quota: SessionQuota;
  private readonly trie: SubscriptionMatcher<Subscription>;
  private readonly shared = new SubscriptionTrie<ShareGroup>();
  private readonly retained = new RetainedStore();
  /** Shared groups by `group NUL filter`; the `shared` trie indexes them by filter. */
  private readonly sharedGroups = new Map<string, ShareGroup>();
  private readonly matchCache = new Map<string, { subscriptions: Subscription[]; groups: readonly ShareGroup[] }>();
  /** Cache hits since the cache last started over. */
  private matchCacheHits = 0;
  /** Publishes left that match without the cache (it was thrashing). */
  private matchCacheBypass = 0;
  /** The bypass after the next fill that does not pay (match-cache-policy.ts). */
  private matchCacheNextBypass = MATCH_CACHE_BYPASS;
  private readonly dropLog: RateLimitedLog;
  private readonly events: SessionEvents;
  private seq = 0;
  /** Why the last publish was refused (the store cannot take what it would write), else undefined. */
  private refused: Error | undefined;
  /** BrokerStore.writes when the last publish began: whether it wrote is a comparison, not a flag per write. */
  private writesBefore = 0;

  constructor(private readonly options: BrokerOptions) {
    this.trie = options.createTopicFilterIndex === undefined ? new SubscriptionTrie() : new IndexedSubscriptions(options.createTopicFilterIndex());
    this.dropLog = new RateLimitedLog(options.logger);
    this.queueBudget = { usedBytes: 0, maxBytes: options.limits.maxQueuedBytesTotal ?? Number.POSITIVE_INFINITY };
    this.quota = new SessionQuota(options.limits.maxSessionsPerOwner, options.ownerKey);
    const store = options.store;
    this.events = {
      dropped: (session, reason, message) => {
        if (reason === 'queue_full') this.counters.droppedQueueFull += 1;
        else if (reason === 'total_queue_full') this.counters.droppedTotalQueueFull += 1;
        else if (reason === 'congested') this.counters.droppedCongested += 1;
        else this.counters.droppedExpired += 1;
        if (reason !== 'expired') {
          this.dropLog.warn(`drop:${reason}`, { event: 'broker.message_dropped', code: 'OUTPOST_MQTT_MESSAGE_DROPPED', reason, clientId: session.clientId, topic: message.topic });
        }
      },
      queued: (session, outgoing) => {
        if (outgoing.seq === 0) outgoing.seq = ++this.seq;
        store.putQueued(session.clientId, outgoing);
      },
      acknowledged: (session, outgoing) => {
        if (outgoing.seq !== 0) store.deleteQueued(session.clientId, outgoing.seq);
      },
    };
  }

  /** Restores persistent sessions, their queues and retained messages. */
  async start(): Promise<void> {
    const state = await this.options.store.load();
    this.seq = state.lastSeq;
    const nowMs = Date.now();
    for (const stored of state.sessions) {
      const session = new Session(stored.clientId, stored.expiryIntervalSec, this.options.limits, this.events, this.queueBudget);
      session.stored = true;
      session.owner = stored.owner;
      this.sessions.set(stored.clientId, session);
      this.quota.count(session);
      for (const subscription of stored.subscriptions) this.index(session, subscription);
      for (const kind of stored.iotHub ?? []) (session.iotHub ??= new Set()).add(kind);
      this.scheduleExpiry(session, (stored.disconnectedAtMs ?? nowMs) + stored.expiryIntervalSec * 1000 - nowMs);
    }
    for (const queue of state.queues) {
      const session = this.sessions.get(queue.clientId);
      if (session === undefined) for (const item of queue.items) this.options.store.deleteQueued(queue.clientId, item.seq);
      else for (const item of queue.items) session.restore(item);
    }
    for (const message of state.retained) this.retained.set(message);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(clientId: string): Session | undefined {
    return this.sessions.get(clientId);
  }

  /** Bytes queued across every session (what `limits.maxQueuedBytesTotal` bounds). */
  get queuedBytes(): number {
    return this.queueBudget.usedBytes;
  }

  /**
   * True when `connect` with these arguments would open one more persistent session for an owner
   * that already holds `limits.maxSessionsPerOwner` (resuming or replacing its own is not more).
   * O(1): asked once per CONNECT.
   */
  wouldExceedSessionQuota(clientId: string, expiryIntervalSec: number, owner: unknown): boolean {
    return this.quota.wouldExceed(this.sessions.get(clientId), expiryIntervalSec, owner);
  }

  /** Persistent sessions held under an owner key (for `limits.maxSessionsPerOwner`). */
  sessionsOwnedBy(key: string): number {
    return this.quota.held(key);
  }

  /** Every session, connected or waiting for its client (for a change of authorization policy). */
  allSessions(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /**
   * Opens (or resumes) the session for a client. The caller has already disconnected any
   * previous connection with the same client id (session takeover).
   */
  connect(
    clientId: string,
    cleanStart: boolean,
    expiryIntervalSec: number,
    link: SessionLink,
    receiveMaximum: number | undefined,
    owner?: unknown,
  ): { session: Session; sessionPresent: boolean } {
    let session = this.sessions.get(clientId);
    if (session !== undefined && cleanStart) {
      this.discard(session);
      session = undefined;
    }
    const sessionPresent = session !== undefined;
    if (session === undefined) {
      session = new Session(clientId, expiryIntervalSec, this.options.limits, this.events, this.queueBudget);
      this.sessions.set(clientId, session);
    }
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    session.expiryIntervalSec = expiryIntervalSec;
    if (owner !== undefined) session.owner = owner;
    this.quota.count(session);
    this.persistSession(session, undefined);
    session.attach(link, receiveMaximum);
    return { session, sessionPresent };
  }

  /** The connection of a session ended; a non-persistent session ends with it. */
  disconnect(session: Session, expiryIntervalSec?: number): void {
    if (this.sessions.get(session.clientId) !== session) return;
    session.detach();
    if (expiryIntervalSec !== undefined) session.expiryIntervalSec = expiryIntervalSec;
    if (!session.persistent) {
      this.discard(session);
      return;
    }
    // MQTT 5 DISCONNECT may have changed the expiry interval (never from 0 to more).
    this.quota.count(session);
    this.persistSession(session, Date.now());
    this.scheduleExpiry(session, session.expiryIntervalSec * 1000);
  }

  /**
   * What to wait for before acknowledging the last publish: undefined when it wrote nothing durable
   * (the ordinary QoS 1 path to online clean sessions: acknowledged at once); the store batch
   * holding its writes when it wrote (retained, or QoS 1/2 for a persistent session), which
   * rejects if that batch was not written; a rejection when it was refused (docs/invariants.md).
   */
  durability(): Promise<void> | undefined {
    if (this.refused !== undefined) return Promise.reject(this.refused);
    const store = this.options.store;
    return store.writes !== this.writesBefore ? store.flush() : undefined;
  }

  publish(message: BrokerMessage): void {
    this.counters.published += 1;
    const store = this.options.store;
    this.refused = undefined;
    this.writesBefore = store.writes;
    // The store is short of disk space: a publish that would write is refused whole (no subscriber
    // gets it), so the publisher is not acknowledged and may send it again (issue 14).
    if (store.refusal !== undefined && this.wouldWrite(message)) {
      this.refused = store.refusal;
      return;
    }
    if (message.retain) {
      // MQTT-3.3.1-6/7: an empty retained message deletes; any other replaces.
      if (message.payload.length === 0) {
        if (this.retained.delete(message.topic)) this.options.store.deleteRetained(message.topic);
      } else {
        this.retained.set(message);
        this.options.store.putRetained(message);
      }
    }
    const deliveries = new Map<Session, Delivery>();
    const matched = this.matchesOf(message.topic);
    for (const subscription of matched.subscriptions) this.collect(deliveries, subscription, message);
    for (const group of matched.groups) {
      const subscription = this.pickShareMember(group);
      if (subscription !== undefined) this.collect(deliveries, subscription, message);
    }
    for (const [session, delivery] of deliveries) {
      this.counters.delivered += 1;
      session.deliver({ message, qos: delivery.qos, retain: delivery.retain, subscriptionIds: delivery.subscriptionIds, seq: 0 });
    }
  }

  /** Records an IoT Hub subscription (not indexed in the trie; see Session.iotHub). */
  subscribeIotHub(session: Session, kind: string): void {
    if (session.iotHub?.has(kind) === true) return;
    (session.iotHub ??= new Set()).add(kind);
    if (session.persistent) this.persistSession(session, undefined);
  }

  /** Removes an IoT Hub subscription; false when the session did not have it. */
  unsubscribeIotHub(session: Session, kind: string): boolean {
    if (session.iotHub?.delete(kind) !== true) return false;
    if (session.persistent) this.persistSession(session, undefined);
    return true;
  }

  /**
   * Delivers straight to one session (module inputs, C2D, twin and method messages), with the
   * session's in-flight window, queue and persistence. False when there is no such session.
   */
  deliverTo(clientId: string, message: BrokerMessage, qos: QoS): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    this.counters.delivered += 1;
    session.deliver({ message, qos, retain: false, subscriptionIds: [], seq: 0 });
    return true;
  }

  /** Adds or replaces subscriptions; sends retained messages per Retain Handling. */
  subscribe(session: Session, subscriptions: readonly Subscription[]): void {
    for (const subscription of subscriptions) {
      const existed = session.subscriptions.has(subscription.filter);
      if (existed) this.unindex(session, session.subscriptions.get(subscription.filter)!);
      this.index(session, subscription);
      // Shared subscriptions never receive retained messages (MQTT 5 section 4.8.2).
      const sendRetained = subscription.shareGroup === undefined && (subscription.retainHandling === 0 || (subscription.retainHandling === 1 && !existed));
      if (sendRetained) {
        this.retained.forEachMatch(subscription.filter, (message) => {
          if (subscription.noLocal && message.senderClientId === session.clientId) return;
          session.deliver({
            message,
            qos: Math.min(message.qos, subscription.qos) as QoS,
            retain: true, // MQTT-3.3.1-8: retained on subscribe keeps the flag
            subscriptionIds: subscription.subscriptionId === undefined ? [] : [subscription.subscriptionId],
            seq: 0,
          });
        });
      }
    }
    if (session.persistent) this.persistSession(session, undefined);
  }

  /** Returns, per filter, whether a subscription existed. */
  unsubscribe(session: Session, filters: readonly string[]): boolean[] {
    const found = filters.map((filter) => {
      const subscription = session.subscriptions.get(filter);
      if (subscription === undefined) return false;
      this.unindex(session, subscription);
      return true;
    });
    if (session.persistent) this.persistSession(session, undefined);
    return found;
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) {
      if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
      if (session.persistent && session.connected) this.persistSession(session, Date.now());
    }
    // A last write that fails is logged by the store; closing goes on.
    await this.options.store.flush().catch(() => undefined);
    await this.options.store.close();
  }

  /**
   * Whether publishing `message` would write new durable state: a retained message (deleting one
   * only frees space), or QoS 1/2 for a persistent session. Asked only while the store refuses; a
   * shared group counts when any member would write (without taking its turn), which may refuse
   * a little more than needed, never less.
   */
  private wouldWrite(message: BrokerMessage): boolean {
    if (message.retain && message.payload.length > 0) return true;
    if (message.qos === 0) return false;
    const matched = this.matchesOf(message.topic);
    const writes = (subscription: Subscription) => subscription.qos > 0 && this.sessions.get(subscription.clientId)?.persistent === true && !(subscription.noLocal && message.senderClientId === subscription.clientId);
    return matched.subscriptions.some(writes) || matched.groups.some((group) => [...group.members.values()].some(writes));
  }

  /**
   * Trie matches by topic, cached: gateways mostly publish to a small set of topics over and over,
   * so a lookup replaces the walk. Any subscription change empties the cache. When the topics do
   * not repeat within the cache's reach (it fills with fewer hits than entries), matching goes
   * without it for a while, longer each time that happens again (match-cache-policy.ts).
   */
  private matchesOf(topic: string): { subscriptions: Subscription[]; groups: readonly ShareGroup[] } {
    if (this.matchCacheBypass === 0) {
      const cached = this.matchCache.get(topic);
      if (cached !== undefined) {
        this.matchCacheHits += 1;
        return cached;
      }
    } else this.matchCacheBypass -= 1;
    const subscriptions: Subscription[] = [];
    this.trie.match(topic, (subscription) => subscriptions.push(subscription));
    let groups = NO_GROUPS;
    if (this.sharedGroups.size > 0) {
      const found: ShareGroup[] = [];
      this.shared.match(topic, (group) => found.push(group));
      groups = found;
    }
    const matched = { subscriptions, groups };
    if (this.matchCacheBypass === 0) {
      if (this.matchCache.size >= MATCH_CACHE_LIMIT) {
        const judged = judgeFullCache(this.matchCacheHits, this.matchCache.size, this.matchCacheNextBypass);
        this.matchCacheBypass = judged.bypass;
        this.matchCacheNextBypass = judged.nextBypass;
        this.matchCache.clear();
        this.matchCacheHits = 0;
      }
      if (this.matchCacheBypass === 0) this.matchCache.set(topic, matched);
    }
    return matched;
  }

  /** Subscriptions changed: cached matches are stale. */
  private forgetMatches(): void {
    this.matchCache.clear();
    this.matchCacheHits = 0;
  }

  private collect(deliveries: Map<Session, Delivery>, subscription: Subscription, message: BrokerMessage): void {
    const session = this.sessions.get(subscription.clientId);
    if (session === undefined) return;
    if (subscription.noLocal && message.senderClientId === subscription.clientId) return;
    const qos = Math.min(message.qos, subscription.qos) as QoS;
    // MQTT-3.3.1-9 (v3 and v5 without Retain As Published): forwarded messages lose the retain flag.
    const retain = subscription.retainAsPublished && message.retain;
    const existing = deliveries.get(session);
    if (existing === undefined) {
      deliveries.set(session, { qos, retain, subscriptionIds: subscription.subscriptionId === undefined ? [] : [subscription.subscriptionId] });
      return;
    }
    if (qos > existing.qos) existing.qos = qos;
    existing.retain ||= retain;
    if (subscription.subscriptionId !== undefined) existing.subscriptionIds.push(subscription.subscriptionId);
  }

  private pickShareMember(group: ShareGroup): Subscription | undefined {
    const members = [...group.members.values()];
    // Prefer connected members; an offline persistent member gets messages only if none is online.
    for (let i = 0; i < members.length; i++) {
      const candidate = members[(group.next + i) % members.length]!;
      if (this.sessions.get(candidate.clientId)?.connected === true) {
        group.next = (group.next + i + 1) % members.length;
        return candidate;
      }
    }
    if (members.length === 0) return undefined;
    group.next = (group.next + 1) % members.length;
    return members[group.next % members.length];
  }

  private index(session: Session, subscription: Subscription): void {
    this.forgetMatches();
    session.setSubscription(subscription);
    if (subscription.shareGroup === undefined) {
      this.trie.set(subscription.filter, session.clientId, subscription);
      return;
    }
    const inner = innerFilter(subscription);
    const groupKey = `${subscription.shareGroup}\u0000${inner}`;
    let group = this.sharedGroups.get(groupKey);
    if (group === undefined) {
      group = { members: new Map(), next: 0 };
      this.sharedGroups.set(groupKey, group);
      this.shared.set(inner, subscription.shareGroup, group);
    }
    group.members.set(session.clientId, subscription);
  }

  private unindex(session: Session, subscription: Subscription): void {
    this.forgetMatches();
    session.removeSubscription(subscription.filter);
    if (subscription.shareGroup === undefined) {
      this.trie.delete(subscription.filter, session.clientId);
      return;
    }
    const inner = innerFilter(subscription);
    const groupKey = `${subscription.shareGroup}\u0000${inner}`;
    const group = this.sharedGroups.get(groupKey);
    if (group === undefined) return;
    group.members.delete(session.clientId);
    if (group.members.size === 0) {
      this.sharedGroups.delete(groupKey);
      this.shared.delete(inner, subscription.shareGroup);
    }
  }

  private discard(session: Session): void {
    if (session.subscriptions.size > 0) for (const subscription of [...session.subscriptions.values()]) this.unindex(session, subscription);
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    this.sessions.delete(session.clientId);
    session.release();
    this.quota.uncount(session);
    // Only a session that was ever written has anything to delete (clean sessions never are).
    if (session.stored) this.options.store.deleteSession(session.clientId);
  }

  private scheduleExpiry(session: Session, delayMs: number): void {
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    // setTimeout overflows past ~24.8 days; longer expiries are re-armed when they come due.
    const capped = Math.max(0, Math.min(delayMs, 2 ** 31 - 1));
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = undefined;
      if (session.connected || this.sessions.get(session.clientId) !== session) return;
      if (capped < delayMs) this.scheduleExpiry(session, delayMs - capped);
      else {
        this.options.logger.debug({ event: 'broker.session_expired', clientId: session.clientId }, 'session expired');
        this.discard(session);
      }
    }, capped);
    session.expiryTimer.unref();
  }

  private persistSession(session: Session, disconnectedAtMs: number | undefined): void {
    if (!session.persistent) return;
    const stored: StoredSession = {
      clientId: session.clientId,
      expiryIntervalSec: session.expiryIntervalSec,
      disconnectedAtMs,
      subscriptions: [...session.subscriptions.values()],
      iotHub: [...(session.iotHub ?? [])],
      ...(session.owner === undefined ? {} : { owner: session.owner }),
    };
    this.options.store.saveSession(stored);
    session.stored = true;
  }
}

function innerFilter(subscription: Subscription): string {
  // `$share/{group}/{filter}` → `{filter}`
  return subscription.filter.slice('$share/'.length + subscription.shareGroup!.length + 1);
}

export type { Outgoing };
