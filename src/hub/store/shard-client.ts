import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { OutpostError } from '../../errors/index.js';
import type { HubMessage } from '../message/index.js';
import type { CompiledRouteTableData } from '../routing/index.js';
import { FrameBuilder } from './frames.js';
import { messageBound, writeMessage } from './message-codec.js';
import type {
  AppendResult,
  Commit,
  DoneResult,
  OpenResult,
  ReadResult,
  RoutesResult,
  ShardConfig,
  ShardResult,
  ShardStatsResult,
  ShardTask,
  ShardTotals,
  TrimResult,
} from './shard-protocol.js';

const WORKER_FILE = fileURLToPath(new URL('../../../workers/shard-worker.js', import.meta.url));

/**
 * Appends in flight per shard. The first goes out at once (an idle shard adds no latency); a
 * second only once its batch has some size (PIPELINE_MIN_MESSAGES): each task costs a postMessage each
 * way (~10 µs), so under load batches must grow with the round trip instead of going out as a
 * trickle of one or two messages per event-loop turn.
 */
const MAX_IN_FLIGHT = 2;
const PIPELINE_MIN_MESSAGES = 32;
/**
 * Tasks Piscina may hand the worker at once. Its queue does not keep order when a worker frees up
 * (a task submitted from a completion callback can overtake a queued one: found by the crash test,
 * two batches of one source written in swapped order), so tasks must never wait in it: the worker
 * accepts this many and runs them one at a time in arrival order (workers/shard-worker.ts).
 */
const WORKER_TASK_SLOTS = 1_000_000;

/** What the store learns from every append: written (and routed), or refused. */
export interface AppendListener {
  /** `roundTripMs`: from the task's post to its answer (the worker's queue, decode, routing, write). */
  appended(client: ShardClient, messages: readonly HubMessage[], result: AppendResult, roundTripMs: number): void;
  failed(client: ShardClient, count: number, error: OutpostError): void;
}

export interface ShardClientOptions {
  readonly maxBatchMessages: number;
  readonly maxBatchBytes: number;
  /** Least time between two checkpoint writes of the same shard. */
  readonly checkpointIntervalMs: number;
  /** V8 heap limits of the shard's worker thread (memoryBudget); absent: Node's defaults. */
  readonly workerLimits?: { readonly maxOldGenerationSizeMb: number; readonly maxYoungGenerationSizeMb: number };
}

/** Messages waiting for the next append task; they share one promise (one write, one outcome). */
interface Pending {
  readonly messages: HubMessage[];
  /** The messages encoded, back to back: the append task's frames. */
  readonly frames: FrameBuilder;
  readonly promise: Promise<void>;
  resolve: () => void;
  reject: (error: OutpostError) => void;
  /** performance.now() when the batch was posted to the worker (one write per batch, for the round-trip metric). */
  sentAt: number;
}

/**
 * The main thread's handle on one shard worker: a Piscina instance with exactly one thread (the
 * shard's affinity), micro-batching of submitted messages into append tasks, piggybacked
 * checkpoints, and the other shard operations. The worker runs tasks one at a time in the order
 * they were sent, so results come back in that order too.
 */
export class ShardClient {
  totals: ShardTotals;
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private flushScheduled = false;
  private readonly commits = new Map<string, Commit>();
  private commitTimer: NodeJS.Timeout | undefined;
  private lastCommitMs = 0;
  private closed = false;
  /**
   * Tasks sent and not yet answered: close waits for them (Piscina fails late answers). Counted,
   * not kept in a Set: a Set that every batch enters and leaves is a queue-shaped hash table, which
   * V8 turns into a promotion chain after a full collection (see PacketIdSlots); through each
   * task's callbacks it kept whole batches of messages alive.
   */
  private running = 0;
  private readonly whenIdle: (() => void)[] = [];
  /** Bytes submitted and not yet written (counted against store.maxSize before the write). */
  pendingBytes = 0;

  private constructor(
    readonly shard: number,
    private readonly pool: Piscina<ShardTask, ShardResult>,
    private readonly options: ShardClientOptions,
    private readonly listener: AppendListener,
    opened: OpenResult,
  ) {
    this.totals = opened.totals;
  }

  static async open(
    config: ShardConfig,
    options: ShardClientOptions,
    listener: AppendListener,
  ): Promise<{ client: ShardClient; opened: OpenResult }> {
    const pool = new Piscina<ShardTask, ShardResult>({
      filename: WORKER_FILE,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: WORKER_TASK_SLOTS,
      idleTimeout: Number.POSITIVE_INFINITY,
      // The worker's event loop must keep running between tasks (WAL sync timer, compactions).
      atomics: 'disabled',
      ...(options.workerLimits === undefined ? {} : { resourceLimits: options.workerLimits }),
    });
    const result = await pool.run({ op: 'open', config });
    if (!result.ok) {
      await pool.destroy();
      throw OutpostError.fromJSON(result.error);
    }
    const opened = result as OpenResult;
    return { client: new ShardClient(config.shard, pool, options, listener, opened), opened };
  }

  /**
   * Resolves when the message (and its routed copies) is in the write-ahead log. Every message of
   * a batch gets the same promise: one write, one outcome, no allocation per message.
   */
  submit(message: HubMessage): Promise<void> {
    if (this.closed) return Promise.reject(new OutpostError('OUTPOST_STORE_CLOSED', 'the message store is closed'));
    let pending = this.queue[this.queue.length - 1];
    if (pending === undefined || pending.messages.length >= this.options.maxBatchMessages || pending.frames.bytes >= this.options.maxBatchBytes) {
      pending = newPending();
      this.queue.push(pending);
    }
    // Encoded straight into the batch's buffer, which is what crosses to the worker.
    const frames = pending.frames;
    const before = frames.bytes;
    const at = frames.reserve(messageBound(message));
    frames.commit(writeMessage(frames.buffer, at, message));
    pending.messages.push(message);
    this.pendingBytes += frames.bytes - before;
    if (this.canSend(pending) && !this.flushScheduled) {
      this.flushScheduled = true;
      // Gather everything the current I/O callbacks submit (a socket read holds many PUBLISHes).
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return pending.promise;
  }

  /** Records the acknowledged prefix of a queue; written with a later task (checkpointIntervalMs). */
  commit(commit: Commit): void {
    this.commits.set(commit.queueId, commit);
    this.armCommitTimer();
  }

  private armCommitTimer(): void {
    if (this.commitTimer === undefined && !this.closed) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        if (this.commits.size > 0) void this.sendCommits();
      }, this.options.checkpointIntervalMs);
      this.commitTimer.unref();
    }
  }

  read(queueId: string, fromSeq: number, limit: number, maxBytes: number): Promise<ReadResult> {
    return this.run<ReadResult>({ op: 'read', queueId, fromSeq, limit, maxBytes });
  }

  expire(nowMs: number, scanLimit: number): Promise<TrimResult> {
    return this.run<TrimResult>({ op: 'expire', nowMs, scanLimit });
  }

  drop(bytes: number): Promise<TrimResult> {
    return this.run<TrimResult>({ op: 'drop', bytes });
  }

  setRoutes(routes: CompiledRouteTableData, defaultTtlSec: number): Promise<RoutesResult> {
    return this.run<RoutesResult>({ op: 'routes', routes, defaultTtlSec });
  }

  /** Figures as of now: checkpoints not yet written go first, so acknowledged messages are not counted. */
  stats(nowMs: number): Promise<ShardStatsResult> {
    if (this.commits.size > 0) void this.sendCommits();
    return this.run<ShardStatsResult>({ op: 'stats', nowMs });
  }

  reclaim(): Promise<DoneResult> {
    return this.run<DoneResult>({ op: 'reclaim' });
  }

  /**
   * Compacts what was trimmed from the queues since the last call (the disk is short of space).
   * Checkpoints not yet written go first, so what was just acknowledged is part of it.
   */
  reclaimTrimmed(): Promise<DoneResult> {
    if (this.commits.size > 0) void this.sendCommits();
    return this.run<DoneResult>({ op: 'reclaimTrimmed' });
  }

  /** Writes what is pending, the last checkpoints, and closes the shard and its thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.commitTimer !== undefined) clearTimeout(this.commitTimer);
    while (this.queue.length > 0 || this.inFlight > 0) {
      this.flush();
      await Promise.allSettled(this.queue.map((p) => p.promise));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    try {
      if (this.commits.size > 0) await this.sendCommits();
      if (this.running > 0) await new Promise<void>((resolve) => this.whenIdle.push(resolve));
      await this.run({ op: 'close' });
    } finally {
      await this.pool.destroy();
    }
  }

  private flush(): void {
    while (this.queue.length > 0 && this.canSend(this.queue[0]!)) {
      const pending = this.queue.shift()!;
      this.inFlight += 1;
      pending.sentAt = performance.now();
      const frames = pending.frames.finish();
      const commits = this.takeCommitsIfDue();
      this.track(this.pool.run({ op: 'append', frames, commits }, { transferList: [frames.buffer as ArrayBuffer] })).then(
        (result) => this.settle(pending, commits, result),
        (error: unknown) => this.settle(pending, commits, { ok: false, error: { code: 'OUTPOST_INTERNAL', message: `shard ${this.shard} worker failed: ${String(error)}` } }),
      );
    }
  }

  private canSend(next: Pending): boolean {
    if (this.inFlight === 0) return true;
    if (this.inFlight >= MAX_IN_FLIGHT) return false;
    return this.closed || next.messages.length >= PIPELINE_MIN_MESSAGES || next.frames.bytes >= this.options.maxBatchBytes;
  }

  private settle(pending: Pending, commits: readonly Commit[], result: ShardResult): void {
    this.inFlight -= 1;
    this.pendingBytes -= pending.frames.bytes;
    if (result.ok) {
      const appended = result as AppendResult;
      this.totals = appended.totals;
      // Dispatch first: the sender's acknowledgement must not overtake the first delivery attempt.
      this.listener.appended(this, pending.messages, appended, performance.now() - pending.sentAt);
      pending.resolve();
    } else {
      this.restoreCommits(commits);
      const error = OutpostError.fromJSON(result.error);
      this.listener.failed(this, pending.messages.length, error);
      pending.reject(error);
    }
    // Keep the worker busy: what accumulated during this write goes out now, as one batch.
    this.flush();
  }

  private takeCommitsIfDue(): Commit[] {
    const nowMs = Date.now();
    if (this.commits.size === 0 || nowMs - this.lastCommitMs < this.options.checkpointIntervalMs) return [];
    this.lastCommitMs = nowMs;
    const commits = [...this.commits.values()];
    this.commits.clear();
    return commits;
  }

  private async sendCommits(): Promise<void> {
    this.lastCommitMs = Date.now();
    const commits = [...this.commits.values()];
    this.commits.clear();
    const result = await this.run<TrimResult>({ op: 'commit', commits }).catch(() => undefined);
    if (result === undefined) this.restoreCommits(commits);
  }

  /** A checkpoint that was not written (a full disk, most likely) goes out with a later task. */
  private restoreCommits(commits: readonly Commit[]): void {
    for (const commit of commits) if (!this.commits.has(commit.queueId)) this.commits.set(commit.queueId, commit);
    if (commits.length > 0) this.armCommitTimer();
  }

  private track<T>(task: Promise<T>): Promise<T> {
    this.running += 1;
    const forget = () => {
      this.running -= 1;
      if (this.running === 0) for (const resolve of this.whenIdle.splice(0)) resolve();
    };
    task.then(forget, forget);
    return task;
  }

  private async run<R extends ShardResult>(task: ShardTask): Promise<R> {
    const result = await this.track(this.pool.run(task));
    if (!result.ok) throw OutpostError.fromJSON(result.error);
    if ('totals' in result) this.totals = result.totals;
    return result as R;
  }
}

function newPending(): Pending {
  let resolve!: () => void;
  let reject!: (error: OutpostError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits (QoS 0) must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { messages: [], frames: new FrameBuilder(), promise, resolve, reject, sentAt: 0 };
}
