import type { SerializedError } from '../../errors/index.js';
import type { CompiledRouteTableData } from '../routing/index.js';
import type { NativeMode } from '../../native/index.js';
import type { QueueRef } from './queue-id.js';

/**
 * The messages between the main thread (ShardClient) and a shard worker (workers/shard-worker.ts,
 * ShardCore). Everything is structured-clone data; message batches and read pages travel as one
 * transferred buffer each (frames.ts). Failures come back as `{ok: false, error}` and are rebuilt
 * into an OutpostError on the main thread.
 */

export type SyncMode = 'none' | 'interval' | 'batch';

export interface ShardConfig {
  readonly shard: number;
  /** RocksDB directory of this shard; undefined keeps the queues in memory. */
  readonly dir: string | undefined;
  readonly memtableBytes: number;
  /** RocksDB's block cache (absent: on). */
  readonly blockCache?: boolean;
  /**
   * The native addon's mode (config.native): with the addon, the worker gives its spare memory
   * back after opening and after busy spells once idle (src/hub/idle-memory-release.ts). Absent: off.
   */
  readonly native?: NativeMode;
  readonly sync: SyncMode;
  readonly syncIntervalMs: number;
  /** Least time between two automatic compactions that give freed space back. */
  readonly reclaimIntervalMs: number;
  readonly routes: CompiledRouteTableData;
  /** The deployment's storeAndForwardConfiguration.timeToLiveSecs, for routes without their own. */
  readonly defaultTtlSec: number;
}

/** The main thread's acknowledged prefix of one queue: every entry before `head` is done. */
export interface Commit {
  readonly queueId: string;
  readonly head: number;
  readonly cumHead: number;
}

export type ShardTask =
  | { readonly op: 'open'; readonly config: ShardConfig }
  | { readonly op: 'append'; readonly frames: Uint8Array; readonly commits: readonly Commit[] }
  | { readonly op: 'commit'; readonly commits: readonly Commit[] }
  | { readonly op: 'read'; readonly queueId: string; readonly fromSeq: number; readonly limit: number; readonly maxBytes: number }
  | { readonly op: 'expire'; readonly nowMs: number; readonly scanLimit: number }
  | { readonly op: 'drop'; readonly bytes: number }
  | { readonly op: 'routes'; readonly routes: CompiledRouteTableData; readonly defaultTtlSec: number }
  | { readonly op: 'stats'; readonly nowMs: number }
  | { readonly op: 'reclaim' }
  | { readonly op: 'reclaimTrimmed' }
  | { readonly op: 'close' };

export interface ShardTotals {
  /** Key and value bytes of every queued entry. */
  readonly liveBytes: number;
  readonly liveCount: number;
}

export interface QueueInfo extends QueueRef {
  readonly head: number;
  readonly tail: number;
  readonly cumHead: number;
  readonly cumTail: number;
}

/** A queue's head moved in the worker (expired or dropped entries); the main thread follows. */
export interface HeadAdvance {
  readonly queueId: string;
  readonly head: number;
  readonly cumHead: number;
  readonly removed: number;
}

export interface OpenResult {
  readonly ok: true;
  readonly queues: QueueInfo[];
  readonly totals: ShardTotals;
  /** The worker's V8 heap limit (heap_size_limit), to show the memory budget took effect. */
  readonly heapLimitBytes?: number;
}

/**
 * For message i of the batch, its targets are j in [offsets[i], offsets[i+1]): queue
 * `queues[targets[j]]` (an endpoint at one priority), sequence number `seqs[j]` in that queue of
 * this shard.
 */
export interface AppendResult {
  readonly ok: true;
  readonly queues: QueueRef[];
  readonly offsets: Uint32Array;
  readonly targets: Uint16Array;
  readonly seqs: Float64Array;
  readonly expires: Float64Array;
  readonly cums: Float64Array;
  readonly noRoute: number;
  readonly totals: ShardTotals;
}

export interface ReadResult {
  readonly ok: true;
  readonly firstSeq: number;
  /** Stored entries (entry-header.ts), packed with frames.ts. */
  readonly frames: Uint8Array;
}

export interface TrimResult {
  readonly ok: true;
  readonly advances: HeadAdvance[];
  readonly totals: ShardTotals;
  /** Whether the worker started a compaction to give freed space back. */
  readonly reclaiming: boolean;
  /** The task stopped at its budget with more to do: send another (appends run in between). */
  readonly more: boolean;
}

export interface QueueStats extends QueueInfo {
  readonly oldestEnqueuedAtMs: number | undefined;
}

export interface ShardStatsResult {
  readonly ok: true;
  readonly shard: number;
  readonly persistent: boolean;
  readonly diskBytes: number;
  readonly totals: ShardTotals;
  readonly queues: QueueStats[];
  readonly failed: SerializedError | undefined;
}

export interface RoutesResult {
  readonly ok: true;
  readonly routes: number;
}

export interface DoneResult {
  readonly ok: true;
  readonly totals: ShardTotals;
}

export interface FailedResult {
  readonly ok: false;
  readonly error: SerializedError;
}

export type ShardResult = OpenResult | AppendResult | ReadResult | TrimResult | ShardStatsResult | RoutesResult | DoneResult | FailedResult;
