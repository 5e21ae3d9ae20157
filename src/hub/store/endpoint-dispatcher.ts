import type { DeliveryOutcome } from '../endpoints/index.js';
import type { HubMessage } from '../message/index.js';
import type { RouteEndpoint } from '../routing/index.js';
import { EndpointStream, EntryState, type QueueEntry } from './endpoint-stream.js';

/**
 * Hands messages to an endpoint. `deliver` returns false when the endpoint cannot take messages
 * now (module not connected, no upstream link); otherwise `onSettled` is called exactly once.
 */
export interface EndpointTarget {
  deliver(endpoint: RouteEndpoint, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean;
}

export interface DispatchContext {
  readonly window: number;
  readonly readAhead: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  target(): EndpointTarget | undefined;
  /** Load more of a stream's queue from its shard (sets stream.reading until the page arrives). */
  requestRead(stream: EndpointStream): void;
  /** The done prefix of a stream moved: checkpoint it. */
  commit(stream: EndpointStream): void;
  counted(event: 'delivered' | 'expired' | 'undeliverable' | 'redelivered' | 'timeout', endpoint: RouteEndpoint, count: number): void;
}

/**
 * Windowed delivery to one endpoint from its queues in every shard. Up to `window` messages are in
 * flight at once (Azure sends one and waits for its acknowledgement, #6845); queues of different
 * shards interleave, each in its own order, so per-source order holds (a source lives in one
 * shard). A lost message and everything sent after it in its queue go out again in order (at
 * least once); an unavailable endpoint is retried with exponential backoff. Each endpoint has its
 * own dispatcher, window and timers: a slow or dead one never holds up another.
 */
export class EndpointDispatcher {
  private inflight = 0;
  private next = 0;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private closed = false;

  constructor(
    readonly endpoint: RouteEndpoint,
    readonly streams: readonly EndpointStream[],
    private readonly ctx: DispatchContext,
  ) {}

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

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private pump(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    const target = this.ctx.target();
    const nowMs = Date.now();
    while (this.inflight < this.ctx.window) {
      const picked = this.pick();
      if (picked === undefined) break;
      const { stream, entry } = picked;
      if (entry.expiresAtMs <= nowMs) {
        // Never delivered once expired; the shard's sweep reclaims the space of the rest.
        if (stream.markDone(entry)) this.ctx.commit(stream);
        this.ctx.counted('expired', this.endpoint, 1);
        continue;
      }
      if (target === undefined) {
        this.backoff();
        break;
      }
      const attempt = entry.attempt + 1;
      entry.attempt = attempt;
      entry.state = EntryState.Inflight;
      entry.sentAtMs = nowMs;
      this.inflight++;
      if (attempt > 1) this.ctx.counted('redelivered', this.endpoint, 1);
      const accepted = target.deliver(this.endpoint, entry.message, (outcome) => this.settled(stream, entry, attempt, outcome));
      if (!accepted) {
        if (entry.attempt === attempt && entry.state === EntryState.Inflight) {
          this.inflight--;
          stream.rewind(entry);
          // Not sent, so not a redelivery next time.
          entry.attempt = attempt - 1;
        }
        this.backoff();
        break;
      }
    }
    for (const stream of this.streams) if (stream.needsRead(this.ctx.readAhead)) this.ctx.requestRead(stream);
  }

  private pick(): { stream: EndpointStream; entry: QueueEntry } | undefined {
    const streams = this.streams;
    for (let k = 0; k < streams.length; k++) {
      const index = (this.next + k) % streams.length;
      const stream = streams[index]!;
      const entry = stream.next();
      if (entry !== undefined) {
        this.next = (index + 1) % streams.length;
        return { stream, entry };
      }
    }
    return undefined;
  }

  private settled(stream: EndpointStream, entry: QueueEntry, attempt: number, outcome: DeliveryOutcome): void {
    if (entry.attempt !== attempt || entry.state !== EntryState.Inflight) return;
    this.inflight--;
    if (outcome === 'lost') {
      stream.rewind(entry);
      this.backoff();
      return;
    }
    this.retryMs = 0;
    if (stream.markDone(entry)) this.ctx.commit(stream);
    this.ctx.counted(outcome === 'acked' ? 'delivered' : 'undeliverable', this.endpoint, 1);
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
