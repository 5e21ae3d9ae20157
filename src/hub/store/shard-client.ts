import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { OutpostError } from '../../errors/index.js';
import type { HubMessage } from '../message/index.js';
import type { CompiledRouteTableData } from '../routing/index.js';
import { FrameBuilder } from './frames.js';
import { messageBound, writeMessage } from './message-codec.js';
import { directoryBytes, holdsDatabase } from './store-layout.js';
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

/** What the store learns from every append: written (and routed), or refused; and when a shard's thread starts or stops. */
export interface AppendListener {
  /** `roundTripMs`: from the task's post to its answer (the worker's queue, decode, routing, write). */
  appended(client: ShardClient, messages: readonly HubMessage[], result: AppendResult, roundTripMs: number): void;
  failed(client: ShardClient, count: number, error: OutpostError): void;
  /** The worker thread started after the store opened (the first message, or the first after a stop). */
  started?(client: ShardClient, opened: OpenResult, openMs: number): void;
  /** The worker thread stopped: the shard had nothing queued for shardIdleStopMs (`error`: its close failed). */
  stopped?(client: ShardClient, idleMs: number, error?: unknown): void;
}

export interface ShardClientOptions {
  readonly maxBatchMessages: number;
  readonly maxBatchBytes: number;
  /** Least time between two checkpoint writes of the same shard. */
  readonly checkpointIntervalMs: number;
  /** V8 heap limits of the shard's worker thread (memoryBudget); absent: Node's defaults. */
  readonly workerLimits?: { readonly maxOldGenerationSizeMb: number; readonly maxYoungGenerationSizeMb: number };
  /**
   * store.shardIdleStop: above 0, a shard with nothing on disk starts its thread on first use, and
   * a persistent shard with nothing queued stops it after this long without use. 0 or absent: the
   * thread starts with the store and runs until it closes.
   */
  readonly shardIdleStopMs?: number;
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
  /**
   * The worker thread while it runs. A shard without one is cold: it has nothing queued, so the
   * sweeps, statistics and route changes are answered here, and only work on messages starts it
   * (`start`). A cold shard costs no thread, isolate or RocksDB instance (about 10 MiB each).
   */
  private pool: Piscina<ShardTask, ShardResult> | undefined;
  /** The start under way (or done) of the current worker; undefined while cold. */
  private starting: Promise<Piscina<ShardTask, ShardResult>> | undefined;
  /** The stop under way: a start waits for it (one RocksDB instance per directory at a time). */
  private stopping: Promise<void> | undefined;
  /** When messages were last submitted, read or acknowledged here (the idle stop's clock). */
  private lastUseMs = Date.now();
  /** What the statistics say while cold: the queues as the last stop left them (all empty). */
  private coldQueues: ShardStatsResult['queues'] = [];

  private constructor(
    private config: ShardConfig,
    private readonly options: ShardClientOptions,
    private readonly listener: AppendListener,
    opened: OpenResult,
  ) {
    this.totals = opened.totals;
  }

  get shard(): number {
    return this.config.shard;
  }

  /** Whether the shard's worker thread is running (or starting). */
  get started(): boolean {
    return this.starting !== undefined;
  }

  /**
   * Opens the shard. With store.shardIdleStop and nothing on disk (a new store, or one in memory)
   * the thread is left to the first message: there is nothing to recover. Otherwise it starts now
   * and the queues it found come back in `opened`.
   */
  static async open(
    config: ShardConfig,
    options: ShardClientOptions,
    listener: AppendListener,
  ): Promise<{ client: ShardClient; opened: OpenResult }> {
    const lazy = (options.shardIdleStopMs ?? 0) > 0 && (config.dir === undefined || !holdsDatabase(config.dir));
    if (lazy) {
      const opened: OpenResult = { ok: true, queues: [], totals: { liveBytes: 0, liveCount: 0 } };
      return { client: new ShardClient(config, options, listener, opened), opened };
    }
    const { pool, opened } = await startWorker(config, options);
    const client = new ShardClient(config, options, listener, opened);
    client.pool = pool;
    client.starting = Promise.resolve(pool);
    return { client, opened };
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
    if (!this.started) return Promise.resolve(this.nothingTrimmed());
    return this.run<TrimResult>({ op: 'expire', nowMs, scanLimit }, false);
  }

  drop(bytes: number): Promise<TrimResult> {
    if (!this.started) return Promise.resolve(this.nothingTrimmed());
    return this.run<TrimResult>({ op: 'drop', bytes }, false);
  }

  /** The routes take effect for every later batch; a cold shard gets them when it starts. */
  setRoutes(routes: CompiledRouteTableData, defaultTtlSec: number): Promise<RoutesResult> {
    this.config = { ...this.config, routes, defaultTtlSec };
    if (!this.started) return Promise.resolve({ ok: true, routes: routes.routes.length });
    return this.run<RoutesResult>({ op: 'routes', routes, defaultTtlSec }, false);
  }

  /** Figures as of now: checkpoints not yet written go first, so acknowledged messages are not counted. */
  stats(nowMs: number): Promise<ShardStatsResult> {
    if (!this.started) return Promise.resolve(this.coldStats());
    if (this.commits.size > 0) void this.sendCommits();
    return this.run<ShardStatsResult>({ op: 'stats', nowMs }, false);
  }

  reclaim(): Promise<DoneResult> {
    if (!this.started) return Promise.resolve({ ok: true, totals: this.totals });
    return this.run<DoneResult>({ op: 'reclaim' }, false);
  }

  /**
   * Compacts what was trimmed from the queues since the last call (the disk is short of space).
   * Checkpoints not yet written go first, so what was just acknowledged is part of it.
   */
  reclaimTrimmed(): Promise<DoneResult> {
    // A stop compacts nothing, but a cold shard has nothing trimmed left that matters: it was
    // empty when it stopped, and RocksDB compacts its files on its next start as it needs.
    if (!this.started) return Promise.resolve({ ok: true, totals: this.totals });
    if (this.commits.size > 0) void this.sendCommits();
    return this.run<DoneResult>({ op: 'reclaimTrimmed' }, false);
  }

  /**
   * Stops the worker thread if the shard has had nothing queued, pending or unacknowledged for
   * store.shardIdleStop (the store's sweep asks). Only a persistent shard stops: its queues'
   * positions are on disk and come back with the next start; a shard in memory would lose them.
   * True when a stop began.
   */
  stopIfIdle(nowMs: number): boolean {
    const idleStopMs = this.options.shardIdleStopMs ?? 0;
    if (idleStopMs <= 0 || this.config.dir === undefined || this.closed || this.pool === undefined || this.stopping !== undefined) return false;
    const idleMs = nowMs - this.lastUseMs;
    if (idleMs < idleStopMs || this.totals.liveCount > 0 || this.queue.length > 0 || this.inFlight > 0 || this.running > 0 || this.commits.size > 0) return false;
    const pool = this.pool;
    this.pool = undefined;
    this.starting = undefined;
    this.stopping = (async () => {
      try {
        const stats = await pool.run({ op: 'stats', nowMs });
        if (stats.ok) this.coldQueues = (stats as ShardStatsResult).queues;
        await pool.run({ op: 'close' });
      } finally {
        await pool.destroy();
      }
    })().then(
      () => this.listener.stopped?.(this, idleMs),
      // Said, not thrown: the next start opens RocksDB again and refuses messages if it cannot.
      (error: unknown) => this.listener.stopped?.(this, idleMs, error),
    ).finally(() => (this.stopping = undefined));
    return true;
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
    await this.stopping;
    const pool = await this.starting?.catch(() => undefined);
    // Cold: every checkpoint was written when it stopped and nothing was delivered from it since
    // (it had nothing queued); the commits the store hands every stream at close repeat them.
    if (pool === undefined) return;
    try {
      if (this.commits.size > 0) await this.sendCommits();
      if (this.running > 0) await new Promise<void>((resolve) => this.whenIdle.push(resolve));
      await this.run({ op: 'close' });
    } finally {
      this.pool = undefined;
      this.starting = undefined;
      await pool.destroy();
    }
  }

  private flush(): void {
    const pool = this.pool;
    if (pool === undefined) {
      // Cold, starting or stopping: the start flushes once the thread is up.
      // (A failed start refuses the queued messages itself.)
      if (this.queue.length > 0 && this.starting === undefined) this.start().catch(() => undefined);
      return;
    }
    while (this.queue.length > 0 && this.canSend(this.queue[0]!)) {
      const pending = this.queue.shift()!;
      this.inFlight += 1;
      pending.sentAt = performance.now();
      this.lastUseMs = Date.now();
      const frames = pending.frames.finish();
      const commits = this.takeCommitsIfDue();
      this.track(pool.run({ op: 'append', frames, commits }, { transferList: [frames.buffer as ArrayBuffer] })).then(
        (result) => this.settle(pending, commits, result),
        (error: unknown) => this.settle(pending, commits, { ok: false, error: { code: 'OUTPOST_INTERNAL', message: `shard ${this.shard} worker failed: ${String(error)}` } }),
      );
    }
  }

  /**
   * Starts the worker thread of a cold shard (after a stop under way has ended). A start that
   * fails refuses the messages waiting for it with the open's error, and the next message tries
   * again.
   */
  private start(): Promise<Piscina<ShardTask, ShardResult>> {
    if (this.starting !== undefined) return this.starting;
    const starting = (async () => {
      const startedMs = performance.now();
      await this.stopping;
      if (this.closed && this.queue.length === 0) throw new OutpostError('OUTPOST_STORE_CLOSED', 'the message store is closed');
      const { pool, opened } = await startWorker(this.config, this.options);
      this.totals = opened.totals;
      this.lastUseMs = Date.now();
      this.pool = pool;
      this.listener.started?.(this, opened, performance.now() - startedMs);
      return pool;
    })();
    this.starting = starting;
    starting.then(
      () => this.flush(),
      (error: unknown) => {
        if (this.starting === starting) this.starting = undefined;
        const failure = error instanceof OutpostError ? error : new OutpostError('OUTPOST_STORE_OPEN_FAILED', `shard ${this.shard}: ${String(error)}`, { cause: error });
        for (const pending of this.queue.splice(0)) {
          this.pendingBytes -= pending.frames.bytes;
          this.listener.failed(this, pending.messages.length, failure);
          pending.reject(failure);
        }
      },
    );
    return starting;
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

  /** Runs a task on the worker, starting it if cold; `use` false: a sweep or a look, which does not keep an idle shard running. */
  private async run<R extends ShardResult>(task: ShardTask, use = true): Promise<R> {
    if (use) this.lastUseMs = Date.now();
    const pool = this.pool ?? (await this.start());
    const result = await this.track(pool.run(task));
    if (!result.ok) throw OutpostError.fromJSON(result.error);
    if ('totals' in result) this.totals = result.totals;
    return result as R;
  }

  private nothingTrimmed(): TrimResult {
    return { ok: true, advances: [], totals: this.totals, reclaiming: false, more: false };
  }

  private coldStats(): ShardStatsResult {
    const dir = this.config.dir;
    let diskBytes = 0;
    try {
      if (dir !== undefined) diskBytes = directoryBytes(dir);
    } catch {
      // Not there (yet, or any more): nothing on disk.
    }
    return { ok: true, shard: this.shard, persistent: dir !== undefined, diskBytes, totals: this.totals, queues: this.coldQueues, failed: undefined };
  }
}

/** A shard's worker thread: a Piscina instance with exactly one thread, and the shard opened in it. */
async function startWorker(config: ShardConfig, options: ShardClientOptions): Promise<{ pool: Piscina<ShardTask, ShardResult>; opened: OpenResult }> {
  const pool = new Piscina<ShardTask, ShardResult>({
    filename: WORKER_FILE,
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: WORKER_TASK_SLOTS,
    idleTimeout: Number.POSITIVE_INFINITY,
    // The worker's event loop must keep running between tasks (WAL sync timer, compactions).
    atomics: 'disabled',
    // Piscina's two run- and wait-time histograms per pool (HdrHistograms, about 350 KB of native
    // memory each in a heap snapshot, and a record per task): nothing reads them.
    recordTiming: false,
    ...(options.workerLimits === undefined ? {} : { resourceLimits: options.workerLimits }),
  });
  let result: ShardResult;
  try {
    result = await pool.run({ op: 'open', config });
  } catch (error) {
    await pool.destroy();
    throw error;
  }
  if (!result.ok) {
    await pool.destroy();
    throw OutpostError.fromJSON(result.error);
  }
  return { pool, opened: result as OpenResult };
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
