import { OutpostError, toOutpostError } from '../../errors/index.js';
import { DISK_FULL_BELOW_BYTES, freeBytesUnder } from '../free-space.js';
import type { HubMessage } from '../message/index.js';
import { DEFAULT_PRIORITY, RouteTable, type CompiledRouteTableData, type RouteEndpoint } from '../routing/index.js';
import { ENTRY_HEADER_BYTES, readEntryHeader, writeEntry } from './entry-header.js';
import { packFrames, unpackFrames } from './frames.js';
import { decodeMessage } from './message-codec.js';
import { queueIdOf, type QueueRef } from './queue-id.js';
import type { LogBatch, ShardLog, StreamState, TrimmedRange } from './shard-log.js';
import type { AppendResult, Commit, FailedResult, HeadAdvance, OpenResult, QueueStats, ReadResult, ShardConfig, ShardStatsResult, ShardTotals, TrimResult } from './shard-protocol.js';

/** Disk use may exceed twice the live data by this much plus 4 memtables before a reclaim. */
const RECLAIM_SLACK_BYTES = 4 * 1024 * 1024;
const PAGE = 4096;
/** Entries one drop task removes at most, so appends behind it wait milliseconds, not seconds. */
const DROP_BUDGET = 65_536;

type Snapshot = { head: number; tail: number; cumHead: number; cumTail: number; created: boolean };

/**
 * One shard, inside its worker thread: evaluates routes on a micro-batch and writes every routed
 * copy in one atomic batch (with the queue states that count them), serves reads of queue pages,
 * applies the main thread's acknowledged prefixes, expires and drops from queue heads, and gives
 * space back. Calls arrive one at a time (one Piscina thread, one task at a time per shard).
 *
 * Invariants: sequence numbers of a queue are consecutive; entries leave only from the head; a
 * failed write changes nothing (queue states are rolled back), so the sender is not acknowledged
 * and nothing it did not see is half-written.
 */
export class ShardCore {
  private readonly streams = new Map<string, StreamState>();
  private table: RouteTable;
  private defaultTtlSec: number;
  private syncTimer: NodeJS.Timeout | undefined;
  private reclaiming: Promise<void> | undefined;
  private lastReclaimMs = 0;
  /** Per queue, its head when it was first trimmed since the last reclaimTrimmed (one entry per queue, not per trim). */
  private readonly trimmedFrom = new Map<string, number>();

  private constructor(
    private readonly config: ShardConfig,
    private readonly log: ShardLog,
  ) {
    this.table = RouteTable.fromData(config.routes);
    this.defaultTtlSec = config.defaultTtlSec;
  }

  static async open(config: ShardConfig, log: ShardLog): Promise<{ core: ShardCore; result: OpenResult }> {
    const core = new ShardCore(config, log);
    for (const stored of await log.open()) {
      // A state written before queues had priorities is the endpoint's default-priority queue.
      const state: StreamState = { ...stored, id: stored.id ?? stored.endpoint.id, priority: stored.priority ?? DEFAULT_PRIORITY };
      core.streams.set(state.id, state);
    }
    if (log.persistent && config.sync === 'interval') {
      core.syncTimer = setInterval(() => void log.sync().catch(() => undefined), config.syncIntervalMs);
      core.syncTimer.unref();
    }
    const queues = [...core.streams.values()].map((s) => ({ id: s.id, endpoint: s.endpoint, priority: s.priority, head: s.head, tail: s.tail, cumHead: s.cumHead, cumTail: s.cumTail }));
    return { core, result: { ok: true, queues, totals: core.totals() } };
  }

  setRoutes(routes: CompiledRouteTableData, defaultTtlSec: number): number {
    // One reference swap: every batch after this one sees the new table, none sees half of it.
    this.table = RouteTable.fromData(routes);
    this.defaultTtlSec = defaultTtlSec;
    return this.table.routes.length;
  }

  async append(frames: Uint8Array, commits: readonly Commit[]): Promise<AppendResult | FailedResult> {
    const parts = unpackFrames(frames);
    const messages: HubMessage[] = parts.map(decodeMessage);
    const table = this.table;
    const routing = table.evaluateBatch(messages);
    const count = routing.routeIndexes.length;
    const seqs = new Float64Array(count);
    const expires = new Float64Array(count);
    const cums = new Float64Array(count);
    const targets = new Uint16Array(count);
    const queues: QueueRef[] = [];
    const queueIndex = new Map<StreamState, number>();
    const touched = new Map<StreamState, Snapshot>();
    const batch = this.log.batch();
    let noRoute = 0;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const part = parts[i]!;
      const start = routing.offsets[i]!;
      const end = routing.offsets[i + 1]!;
      if (start === end) noRoute++;
      for (let j = start; j < end; j++) {
        const route = table.routes[routing.routeIndexes[j]!]!;
        const state = this.touch(route.endpoint, route.priority, touched);
        const ttlSec = route.ttlSec > 0 ? route.ttlSec : this.defaultTtlSec;
        const expiresAtMs = message.enqueuedAtMs + ttlSec * 1000;
        const cum = state.cumTail + entryBytes(state.id, part.byteLength);
        batch.put(state.id, state.tail, writeEntry(part, expiresAtMs, message.enqueuedAtMs, cum));
        let index = queueIndex.get(state);
        if (index === undefined) {
          index = queues.push({ id: state.id, endpoint: state.endpoint, priority: state.priority }) - 1;
          queueIndex.set(state, index);
        }
        targets[j] = index;
        seqs[j] = state.tail;
        expires[j] = expiresAtMs;
        cums[j] = cum;
        state.tail += 1;
        state.cumTail = cum;
      }
    }
    for (const commit of commits) this.applyCommit(batch, commit, touched);
    const failure = await this.write(batch, touched, this.config.sync === 'batch');
    if (failure !== undefined) return failure;
    return { ok: true, queues, offsets: routing.offsets, targets, seqs, expires, cums, noRoute, totals: this.totals() };
  }

  async commit(commits: readonly Commit[]): Promise<TrimResult | FailedResult> {
    const touched = new Map<StreamState, Snapshot>();
    const batch = this.log.batch();
    for (const commit of commits) this.applyCommit(batch, commit, touched);
    const failure = await this.write(batch, touched, false);
    return failure ?? { ok: true, advances: [], totals: this.totals(), reclaiming: false, more: false };
  }

  async read(queueId: string, fromSeq: number, limit: number, maxBytes: number): Promise<ReadResult> {
    const state = this.streams.get(queueId);
    const from = Math.max(fromSeq, state?.head ?? fromSeq);
    // The queue's average entry size (keys and values), so a trip of the read fetches about a page's bytes.
    const entryBytes = state !== undefined && state.tail > state.head ? (state.cumTail - state.cumHead) / (state.tail - state.head) : undefined;
    const page = await this.log.read(queueId, from, limit, maxBytes, entryBytes);
    return { ok: true, firstSeq: page.firstSeq, frames: packFrames(page.values) };
  }

  /** Removes expired entries from the head of every queue (up to scanLimit entries looked at). */
  async expire(nowMs: number, scanLimit: number): Promise<TrimResult | FailedResult> {
    let budget = scanLimit;
    const result = await this.trimHeads(async (state) => {
      let removed = 0;
      let cumHead = state.cumHead;
      while (budget > 0 && state.head + removed < state.tail) {
        const page = await this.log.read(state.id, state.head + removed, Math.min(PAGE, budget), Number.POSITIVE_INFINITY);
        if (page.values.length === 0) break;
        budget -= page.values.length;
        for (const value of page.values) {
          const header = readEntryHeader(value);
          if (header.expiresAtMs > nowMs) return { removed, cumHead };
          removed++;
          cumHead = header.cumulativeBytes;
        }
      }
      return { removed, cumHead };
    });
    return result.ok ? { ...result, more: budget <= 0 } : result;
  }

  /**
   * store.fullPolicy dropOldest: removes at least `bytes` from the queues with the oldest heads,
   * or DROP_BUDGET entries, whichever comes first (the store asks again while it is over).
   */
  async drop(bytes: number): Promise<TrimResult | FailedResult> {
    let freed = 0;
    let dropped = 0;
    const planned = new Map<StreamState, { removed: number; cumHead: number }>();
    while (freed < bytes && dropped < DROP_BUDGET) {
      let oldest: { state: StreamState; enqueuedAtMs: number } | undefined;
      for (const state of this.streams.values()) {
        const plan = planned.get(state) ?? { removed: 0, cumHead: state.cumHead };
        if (state.head + plan.removed >= state.tail) continue;
        const page = await this.log.read(state.id, state.head + plan.removed, 1, Number.POSITIVE_INFINITY);
        const value = page.values[0];
        if (value === undefined) continue;
        const enqueuedAtMs = readEntryHeader(value).enqueuedAtMs;
        if (oldest === undefined || enqueuedAtMs < oldest.enqueuedAtMs) oldest = { state, enqueuedAtMs };
      }
      if (oldest === undefined) break;
      const plan = planned.get(oldest.state) ?? { removed: 0, cumHead: oldest.state.cumHead };
      planned.set(oldest.state, plan);
      const page = await this.log.read(oldest.state.id, oldest.state.head + plan.removed, PAGE, Number.POSITIVE_INFINITY);
      for (const value of page.values) {
        const cum = readEntryHeader(value).cumulativeBytes;
        freed += cum - plan.cumHead;
        plan.cumHead = cum;
        plan.removed++;
        dropped++;
        if (freed >= bytes || dropped >= DROP_BUDGET) break;
      }
    }
    const result = await this.trimHeads((state) => Promise.resolve(planned.get(state) ?? { removed: 0, cumHead: state.cumHead }));
    return result.ok ? { ...result, more: freed < bytes && dropped >= DROP_BUDGET } : result;
  }

  async stats(nowMs: number): Promise<ShardStatsResult> {
    void nowMs;
    const queues: QueueStats[] = [];
    for (const state of this.streams.values()) {
      let oldestEnqueuedAtMs: number | undefined;
      if (state.head < state.tail) {
        const value = (await this.log.read(state.id, state.head, 1, Number.POSITIVE_INFINITY)).values[0];
        if (value !== undefined) oldestEnqueuedAtMs = readEntryHeader(value).enqueuedAtMs;
      }
      queues.push({ id: state.id, endpoint: state.endpoint, priority: state.priority, head: state.head, tail: state.tail, cumHead: state.cumHead, cumTail: state.cumTail, oldestEnqueuedAtMs });
    }
    return { ok: true, shard: this.config.shard, persistent: this.log.persistent, diskBytes: this.log.diskBytes(), totals: this.totals(), queues, failed: undefined };
  }

  /** Compacts now and waits (tests, `outpost store` tooling). */
  async reclaim(): Promise<void> {
    await this.reclaiming;
    this.trimmedFrom.clear();
    this.reclaiming = this.log.reclaim();
    await this.reclaiming;
    this.reclaiming = undefined;
    this.lastReclaimMs = Date.now();
  }

  /**
   * Compacts exactly what was trimmed since the last call (delivered, expired or dropped entries),
   * whatever the size heuristics say: the main thread asks while the disk is under the reserve,
   * where every freed byte counts and waiting for the next size-based reclaim kept the store
   * refusing long after its backlog was gone.
   */
  async reclaimTrimmed(): Promise<void> {
    const ranges: TrimmedRange[] = [];
    for (const [queueId, fromSeq] of this.trimmedFrom) {
      const state = this.streams.get(queueId);
      if (state !== undefined && state.head > fromSeq) ranges.push({ queueId, fromSeq, toSeq: state.head });
    }
    this.trimmedFrom.clear();
    if (ranges.length === 0) return;
    await this.reclaiming;
    this.reclaiming = this.log.reclaim(ranges);
    try {
      await this.reclaiming;
    } finally {
      this.reclaiming = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    await this.reclaiming?.catch(() => undefined);
    if (this.log.persistent && this.config.sync !== 'none') await this.log.sync().catch(() => undefined);
    await this.log.close();
  }

  totals(): ShardTotals {
    let liveBytes = 0;
    let liveCount = 0;
    for (const state of this.streams.values()) {
      liveBytes += state.cumTail - state.cumHead;
      liveCount += state.tail - state.head;
    }
    return { liveBytes, liveCount };
  }

  private touch(endpoint: RouteEndpoint, priority: number, touched: Map<StreamState, Snapshot>): StreamState {
    const id = queueIdOf(endpoint.id, priority);
    let state = this.streams.get(id);
    let created = false;
    if (state === undefined) {
      state = { id, endpoint, priority, head: 0, tail: 0, cumHead: 0, cumTail: 0 };
      this.streams.set(id, state);
      created = true;
    }
    if (!touched.has(state)) touched.set(state, { head: state.head, tail: state.tail, cumHead: state.cumHead, cumTail: state.cumTail, created });
    return state;
  }

  private applyCommit(batch: LogBatch, commit: Commit, touched: Map<StreamState, Snapshot>): void {
    const state = this.streams.get(commit.queueId);
    if (state === undefined || commit.head <= state.head || commit.head > state.tail) return;
    this.touch(state.endpoint, state.priority, touched);
    if (!this.trimmedFrom.has(state.id)) this.trimmedFrom.set(state.id, state.head);
    batch.trim(state.id, state.head, commit.head);
    state.head = commit.head;
    state.cumHead = commit.cumHead;
  }

  private async trimHeads(plan: (state: StreamState) => Promise<{ removed: number; cumHead: number }>): Promise<TrimResult | FailedResult> {
    const touched = new Map<StreamState, Snapshot>();
    const advances: HeadAdvance[] = [];
    const batch = this.log.batch();
    for (const state of this.streams.values()) {
      if (state.head >= state.tail) continue;
      const { removed, cumHead } = await plan(state);
      if (removed === 0) continue;
      this.applyCommit(batch, { queueId: state.id, head: state.head + removed, cumHead }, touched);
      advances.push({ queueId: state.id, head: state.head, cumHead, removed });
    }
    const failure = await this.write(batch, touched, false);
    if (failure !== undefined) return failure;
    return { ok: true, advances, totals: this.totals(), reclaiming: this.maybeReclaim(), more: false };
  }

  private async write(batch: LogBatch, touched: Map<StreamState, Snapshot>, sync: boolean): Promise<FailedResult | undefined> {
    if (touched.size === 0) {
      batch.abort();
      return undefined;
    }
    for (const state of touched.keys()) batch.putState(state);
    try {
      await batch.commit();
      if (sync && this.log.persistent) await this.log.sync();
      return undefined;
    } catch (error) {
      for (const [state, before] of touched) {
        if (before.created) this.streams.delete(state.id);
        Object.assign(state, { head: before.head, tail: before.tail, cumHead: before.cumHead, cumTail: before.cumTail });
      }
      return { ok: false, error: this.describeFailure(error).toJSON() };
    }
  }

  private describeFailure(error: unknown): OutpostError {
    const dir = this.config.dir;
    const freeBytes = dir === undefined ? undefined : freeBytesUnder(dir);
    const cause = toOutpostError(error).message;
    // rocksdb-native reports every failed write as "Batch was not applied"; free space tells why.
    if (freeBytes !== undefined && freeBytes < DISK_FULL_BELOW_BYTES) {
      return new OutpostError('OUTPOST_STORE_DISK_FULL', `shard ${this.config.shard}: no space left for the store (${freeBytes} bytes free)`, { details: { shard: this.config.shard, freeBytes, cause } });
    }
    return new OutpostError('OUTPOST_STORE_WRITE_FAILED', `shard ${this.config.shard}: write failed: ${cause}`, { details: { shard: this.config.shard, cause } });
  }

  /** Starts a compaction when disk use is far above what is live; it runs beside later tasks. */
  private maybeReclaim(): boolean {
    if (!this.log.persistent || this.reclaiming !== undefined) return false;
    const live = this.totals().liveBytes;
    const disk = this.log.diskBytes();
    // Memtables and the WAL behind them, plus level files RocksDB compacts on its own schedule.
    const slack = RECLAIM_SLACK_BYTES + 4 * this.config.memtableBytes;
    if (disk <= 2 * live + slack || Date.now() - this.lastReclaimMs < this.config.reclaimIntervalMs) return false;
    this.trimmedFrom.clear();
    this.reclaiming = this.log
      .reclaim()
      .catch(() => undefined)
      .finally(() => {
        this.reclaiming = undefined;
        this.lastReclaimMs = Date.now();
      });
    return true;
  }
}

/** Bytes of one queue entry as stored: key (tag, length, id, seq) and value (header, message). */
function entryBytes(queueId: string, messageBytes: number): number {
  return 11 + Buffer.byteLength(queueId, 'utf8') + ENTRY_HEADER_BYTES + messageBytes;
}
