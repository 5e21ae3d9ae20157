import type { DeliveryOutcome, EndpointTarget } from '../endpoints/index.js';
import type { HubMessage } from '../message/index.js';
import type { RouteEndpoint } from '../routing/index.js';
import { EndpointStream, EntryState, type QueueEntry, type StreamDescription } from './endpoint-stream.js';
import type { QueueInfo } from './shard-protocol.js';

/** One endpoint's delivery state (`MessageStore.deliveryState`): for diagnostics. */
export interface DispatcherDescription {
  readonly endpoint: string;
  readonly inflight: number;
  readonly retrying: boolean;
  /** Sources held up on their own (a target with `sourceOf`: `$upstream` identities refused or lost). */
  readonly heldSources: number;
  readonly streams: readonly StreamDescription[];
}

export interface DispatchContext {
  readonly window: number;
  readonly readAhead: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  target(): EndpointTarget | undefined;
  /** Load more of a stream's queue from its shard (sets stream.reading until the page arrives). */
  requestRead(stream: EndpointStream): void;
  /** Read back `source`'s parked entries from `fromSeq` (sets stream.reviving until the page arrives: EndpointStream.revivePage). */
  requestRevive(stream: EndpointStream, source: string, fromSeq: number): void;
  /** The done prefix of a stream moved: checkpoint it. */
  commit(stream: EndpointStream): void;
  counted(event: 'delivered' | 'expired' | 'undeliverable' | 'corrupt' | 'redelivered' | 'timeout', endpoint: RouteEndpoint, count: number): void;
  /** One copy acknowledged by the endpoint (metrics: sender, age, send time). */
  delivered(endpoint: RouteEndpoint, priority: number, message: HubMessage, sentAtMs: number): void;
}

/** Parked entries a stream may hold, in read-aheads: about 40 bytes each (5 MiB at the default). */
const PARKED_PER_READ_AHEAD = 64;

/**
 * Windowed delivery to one endpoint from its queues in every shard. Up to `window` messages are in
 * flight at once (Azure sends one and waits for its acknowledgement, #6845). An endpoint has one
 * queue per route priority in each shard; a message of a higher priority (lower number) goes
 * before any of a lower one that is ready, and queues of one priority in different shards
 * interleave, each in its own order, so per-source order holds within a priority (a source lives
 * in one shard), as in Azure. A lost message and everything sent after it in its queue go out again in order (at
 * least once); an unavailable endpoint is retried with exponential backoff. Each endpoint has its
 * own dispatcher, window and timers: a slow or dead one never holds up another.
 */
export class EndpointDispatcher {
  /** Every stream, highest priority first (then by shard). */
  readonly streams: EndpointStream[] = [];
  /** One group per priority, highest first; `next` takes the group's shards in turn. */
  private readonly groups: { readonly priority: number; readonly streams: EndpointStream[]; next: number }[] = [];
  /** Streams of each queue, by shard. */
  private readonly byQueue = new Map<string, EndpointStream[]>();
  private inflight = 0;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private closed = false;
  /** Sources held up alone until then (targets with `sourceOf` only; empty otherwise). */
  private readonly heldUntil = new Map<string, number>();
  /** Whether a source is held now: one function for every pick (pickUnheld runs per message while one is). */
  private readonly isHeld = (source: string): boolean => this.heldUntil.has(source);
  /** Each held source's current backoff, reset when one of its messages is acknowledged. */
  private readonly sourceRetryMs = new Map<string, number>();
  private sourceTimer: NodeJS.Timeout | undefined;
  private sourceTimerAtMs = 0;

  constructor(
    readonly endpoint: RouteEndpoint,
    private readonly shards: number,
    private readonly ctx: DispatchContext,
  ) {}

  /**
   * The stream of queue `queueId` (this endpoint at `priority`) in `shard`, made for every shard
   * the first time the queue is seen; `queue` replaces a shard's stream with the state a shard
   * opened with.
   */
  stream(queueId: string, priority: number, shard: number, queue?: Pick<QueueInfo, 'head' | 'tail' | 'cumHead'>): EndpointStream {
    let streams = this.byQueue.get(queueId);
    if (streams === undefined) {
      streams = Array.from({ length: this.shards }, (_, index) => new EndpointStream(index, queueId, priority, { head: 0, tail: 0, cumHead: 0 }, this.ctx.readAhead));
      this.byQueue.set(queueId, streams);
      let at = this.groups.findIndex((g) => g.priority >= priority);
      if (at === -1) at = this.groups.length;
      if (this.groups[at]?.priority === priority) this.groups[at]!.streams.push(...streams);
      else this.groups.splice(at, 0, { priority, streams: [...streams], next: 0 });
      this.rebuild();
    }
    if (queue !== undefined) {
      const old = streams[shard]!;
      const replacement = new EndpointStream(shard, queueId, priority, queue, this.ctx.readAhead);
      streams[shard] = replacement;
      for (const group of this.groups) {
        const index = group.streams.indexOf(old);
        if (index !== -1) group.streams[index] = replacement;
      }
      this.rebuild();
    }
    return streams[shard]!;
  }

  /** The streams of a queue by shard, if it has been seen. */
  queueStreams(queueId: string): readonly EndpointStream[] | undefined {
    return this.byQueue.get(queueId);
  }

  private rebuild(): void {
    this.streams.length = 0;
    for (const group of this.groups) this.streams.push(...group.streams);
  }

  get inflightCount(): number {
    return this.inflight;
  }

  get retrying(): boolean {
    return this.retryTimer !== undefined;
  }

  get backlog(): number {
    let total = 0;
    for (const stream of this.streams) total += stream.backlog;
    return total;
  }

  /** Its delivery state, for diagnostics: the window, the backoff and every stream. */
  describe(): DispatcherDescription {
    return { endpoint: this.endpoint.id, inflight: this.inflight, retrying: this.retrying, heldSources: this.heldUntil.size, streams: this.streams.map((s) => s.describe()) };
  }

  /** Something changed (new messages, a page loaded, an outcome): deliver what the window allows. */
  schedule(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** The shard removed a stream's head (expired or dropped entries). */
  headAdvanced(stream: EndpointStream, head: number, cumHead: number): void {
    this.inflight -= stream.advanceHead(head, cumHead);
    this.schedule();
  }

  /** Gives up on messages in flight for longer than `ackTimeoutMs`; they go out again after a backoff. */
  checkTimeouts(nowMs: number, ackTimeoutMs: number): void {
    if (this.inflight === 0) return;
    let expired = false;
    for (const stream of this.streams) {
      for (const entry of stream.inflight()) {
        if (nowMs - entry.sentAtMs >= ackTimeoutMs) expired = true;
      }
    }
    if (!expired) return;
    let abandoned = 0;
    for (const stream of this.streams) {
      for (const entry of [...stream.inflight()]) {
        stream.rewind(entry);
        abandoned++;
      }
    }
    this.inflight = 0;
    this.ctx.counted('timeout', this.endpoint, abandoned);
    this.backoff();
  }

  /**
   * The endpoint just became available (the upstream link reconnected): send now instead of at
   * the end of the current backoff, so a backlog starts draining at once.
   */
  retryNow(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryMs = 0;
    this.heldUntil.clear();
    this.sourceRetryMs.clear();
    if (this.sourceTimer !== undefined) clearTimeout(this.sourceTimer);
    this.sourceTimer = undefined;
    this.schedule();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.sourceTimer !== undefined) clearTimeout(this.sourceTimer);
    this.sourceTimer = undefined;
  }

  private pump(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    const target = this.ctx.target();
    const keyed = target?.sourceOf;
    const sourceOf = keyed === undefined ? undefined : (message: HubMessage) => keyed.call(target, this.endpoint, message);
    // Where each stream's scan past held sources goes on from, for this pump (held sources only).
    let scan: Map<EndpointStream, number> | undefined;
    const nowMs = Date.now();
    // Reads first, so a priority whose messages are still on disk is seen as arriving (pick waits for it).
    for (const stream of this.streams) if (stream.needsRead()) this.ctx.requestRead(stream);
    // Parked entries come and go only between pumps; a source is held during one.
    const parked = sourceOf !== undefined && this.anyParked();
    // Whether the loop ran out of messages it may send (rather than of window).
    let exhausted = false;
    while (this.inflight < this.ctx.window) {
      // Per message, for every target: two comparisons (heldUntil stays empty but for $upstream).
      const picked = sourceOf !== undefined && (parked || this.heldUntil.size > 0) ? this.pickUnheld((scan ??= new Map()), sourceOf) : this.pick();
      if (picked === undefined) {
        exhausted = true;
        break;
      }
      const { stream, entry } = picked;
      if (entry.expiresAtMs <= nowMs) {
        // Never delivered once expired; the shard's sweep reclaims the space of the rest.
        if (stream.markDone(entry)) this.ctx.commit(stream);
        this.ctx.counted('expired', this.endpoint, 1);
        // markDone may compact the stream: its scan indexes start over.
        scan?.delete(stream);
        continue;
      }
      if (target === undefined) {
        this.backoff();
        break;
      }
      // Read-back entries decode here, when first sent (endpoint-stream.ts).
      const message = entry.decode();
      if (message instanceof RangeError) {
        if (stream.markDone(entry)) this.ctx.commit(stream);
        this.ctx.counted('corrupt', this.endpoint, 1);
        scan?.delete(stream);
        continue;
      }
      const attempt = entry.attempt + 1;
      entry.attempt = attempt;
      entry.state = EntryState.Inflight;
      entry.sentAtMs = nowMs;
      this.inflight++;
      if (attempt > 1) this.ctx.counted('redelivered', this.endpoint, 1);
      const accepted = target.deliver(this.endpoint, message, (outcome) => this.settled(stream, entry, message, attempt, outcome));
      if (accepted !== true) {
        if (entry.attempt === attempt && entry.state === EntryState.Inflight) {
          this.inflight--;
          stream.rewind(entry);
          // Not sent, so not a redelivery next time.
          entry.attempt = attempt - 1;
        }
        const source = accepted === 'sourceUnavailable' ? sourceOf?.(message) : undefined;
        if (source !== undefined) {
          // Only this source waits; its later messages are skipped until its retry, the others go on.
          this.holdSource(source);
          continue;
        }
        this.backoff();
        break;
      }
    }
    if (sourceOf !== undefined && (this.heldUntil.size > 0 || this.anyParked())) this.parkAndRevive(sourceOf, exhausted);
    for (const stream of this.streams) if (stream.needsRead()) this.ctx.requestRead(stream);
  }

  private anyParked(): boolean {
    for (const stream of this.streams) if (stream.parkedTotal > 0) return true;
    return false;
  }

  /**
   * Held sources one by one: a window full of entries that cannot go parks them (endpoint-stream.ts),
   * so the other sources' messages behind them load and go; a source that may go again has its
   * parked entries read back, in order. `exhausted`: the pump found nothing more it may send. Only
   * then: a window that is merely full (a backlog draining, sources held for a moment while their
   * links attach) keeps its entries, since parking them would cost a read each to bring back.
   */
  private parkAndRevive(sourceOf: (message: HubMessage) => string | undefined, exhausted: boolean): void {
    const maxParked = PARKED_PER_READ_AHEAD * this.ctx.readAhead;
    for (const stream of this.streams) {
      // Also while a released source's parked entries are read back: its newer ones wait meanwhile.
      if (exhausted && stream.windowFull()) {
        stream.parkHeld((entry) => {
          const message = entry.decode(true);
          if (message instanceof RangeError) return undefined;
          const source = sourceOf(message);
          return source !== undefined && (this.heldUntil.has(source) || stream.hasParked(source)) ? source : undefined;
        }, maxParked);
      }
      if (stream.reviving) continue;
      for (const source of stream.parkedSources()) {
        if (this.heldUntil.has(source)) continue;
        const fromSeq = stream.reviveFrom(source);
        if (fromSeq === undefined) continue;
        this.ctx.requestRevive(stream, source, fromSeq);
        break;
      }
    }
  }

  /**
   * The next message to send: from the highest priority that has one ready (Azure's pump starts
   * from the highest priority again after every batch; lower priorities may wait), taking that
   * priority's shards in turn.
   */
  private pick(): { stream: EndpointStream; entry: QueueEntry } | undefined {
    for (const group of this.groups) {
      const streams = group.streams;
      for (let k = 0; k < streams.length; k++) {
        const index = (group.next + k) % streams.length;
        const stream = streams[index]!;
        const entry = stream.next();
        if (entry !== undefined) {
          group.next = (index + 1) % streams.length;
          return { stream, entry };
        }
      }
      // Nothing ready at this priority, but some of it is being read from disk: wait for it rather
      // than send a lower priority first (the page's arrival pumps again). A failed read clears
      // `reading`, so a broken queue never holds the lower priorities for good.
      if (this.groups.length > 1) for (const stream of streams) if (stream.reading) return undefined;
    }
    return undefined;
  }

  /**
   * `pick` for a target whose sources are held up one by one: the same order, skipping the
   * messages of held sources (each source stays in order: all its messages are skipped).
   */
  private pickUnheld(scan: Map<EndpointStream, number>, sourceOf: (message: HubMessage) => string | undefined): { stream: EndpointStream; entry: QueueEntry } | undefined {
    let stream: EndpointStream;
    const held = (entry: QueueEntry): boolean => {
      // An entry that does not decode is not held: picked, it is removed as corrupt.
      const message = entry.decode(true);
      if (message instanceof RangeError) return false;
      const source = sourceOf(message) ?? '';
      return this.heldUntil.has(source) || stream.hasParked(source);
    };
    for (const group of this.groups) {
      const streams = group.streams;
      for (let k = 0; k < streams.length; k++) {
        const index = (group.next + k) % streams.length;
        stream = streams[index]!;
        // A source's parked entries read back go before any of its entries in the window.
        const revived = stream.parkedTotal > 0 ? stream.nextRevived(this.isHeld) : undefined;
        if (revived !== undefined) {
          group.next = (index + 1) % streams.length;
          return { stream, entry: revived };
        }
        const found = stream.nextFrom(scan.get(stream) ?? 0, held);
        if (found !== undefined) {
          scan.set(stream, found.index + 1);
          group.next = (index + 1) % streams.length;
          return { stream, entry: found.entry };
        }
        scan.set(stream, Number.MAX_SAFE_INTEGER);
      }
      if (this.groups.length > 1) for (const stream of streams) if (stream.reading) return undefined;
    }
    return undefined;
  }

  /** The message's source when the target holds sources up one by one for this endpoint ($upstream), else undefined. */
  private sourceOf(message: HubMessage): string | undefined {
    const target = this.ctx.target();
    return target?.sourceOf?.(this.endpoint, message);
  }

  /** Holds one source up for its own backoff (retryMin doubling to retryMax). */
  private holdSource(source: string): void {
    // The messages of one transfer (a batch) or one connection loss count as one failure.
    if (this.heldUntil.has(source)) return;
    const previous = this.sourceRetryMs.get(source);
    const retryMs = previous === undefined ? this.ctx.retryMinMs : Math.min(previous * 2, this.ctx.retryMaxMs);
    this.sourceRetryMs.set(source, retryMs);
    const untilMs = Date.now() + retryMs;
    this.heldUntil.set(source, untilMs);
    // A hold shorter than the one the timer waits for gets a timer of its own time.
    if (this.sourceTimer !== undefined && untilMs < this.sourceTimerAtMs) {
      clearTimeout(this.sourceTimer);
      this.sourceTimer = undefined;
    }
    if (this.sourceTimer === undefined) this.armSourceTimer();
  }

  private armSourceTimer(): void {
    if (this.closed || this.heldUntil.size === 0) return;
    let earliest = Number.MAX_SAFE_INTEGER;
    for (const until of this.heldUntil.values()) if (until < earliest) earliest = until;
    this.sourceTimerAtMs = earliest;
    this.sourceTimer = setTimeout(() => {
      this.sourceTimer = undefined;
      const nowMs = Date.now();
      for (const [source, until] of this.heldUntil) if (until <= nowMs) this.heldUntil.delete(source);
      this.armSourceTimer();
      this.schedule();
    }, Math.max(0, earliest - Date.now()));
    this.sourceTimer.unref();
  }

  private settled(stream: EndpointStream, entry: QueueEntry, message: HubMessage, attempt: number, outcome: DeliveryOutcome): void {
    if (entry.attempt !== attempt || entry.state !== EntryState.Inflight) return;
    this.inflight--;
    if (outcome === 'lost') {
      stream.rewind(entry);
      const source = this.sourceOf(message);
      if (source === undefined) this.backoff();
      else {
        this.holdSource(source);
        this.schedule();
      }
      return;
    }
    if (this.sourceRetryMs.size > 0) this.sourceRetryMs.delete(this.sourceOf(message) ?? '');
    this.retryMs = 0;
    if (stream.markDone(entry)) this.ctx.commit(stream);
    this.ctx.counted(outcome === 'acked' ? 'delivered' : 'undeliverable', this.endpoint, 1);
    if (outcome === 'acked') this.ctx.delivered(this.endpoint, stream.priority, message, entry.sentAtMs);
    this.schedule();
  }

  private backoff(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryMs = this.retryMs === 0 ? this.ctx.retryMinMs : Math.min(this.retryMs * 2, this.ctx.retryMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.retryMs);
    this.retryTimer.unref();
  }
}
