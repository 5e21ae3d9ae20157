import type { RouteEndpoint } from '../routing/index.js';
import type { QueueRef } from './queue-id.js';

/**
 * What a shard keeps per endpoint queue. Entries of a queue have consecutive sequence numbers in
 * [head, tail); they are only ever removed from the head (acknowledged, expired or dropped), so
 * head and tail alone describe the queue, and `cumTail - cumHead` is its exact size in bytes (see
 * entry-header.ts).
 */
export interface StreamState extends QueueRef {
  readonly endpoint: RouteEndpoint;
  head: number;
  tail: number;
  cumHead: number;
  cumTail: number;
}

/** One atomic group of writes: applied all together, or not at all. */
export interface LogBatch {
  put(queueId: string, seq: number, value: Uint8Array): void;
  /** Removes the entries [fromSeq, toSeq) of one queue. */
  trim(queueId: string, fromSeq: number, toSeq: number): void;
  putState(state: StreamState): void;
  /** Resolves once everything is in the write-ahead log (RocksDB) or applied (memory). */
  commit(): Promise<void>;
  /** Gives the batch up without writing (always call commit or abort once). */
  abort(): void;
}

/** Entries [fromSeq, toSeq) of one queue that were removed (their space comes back on compaction). */
export interface TrimmedRange {
  readonly queueId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

export interface ReadPage {
  /** Sequence number of values[0]; at least the requested one (earlier ones may be gone). */
  readonly firstSeq: number;
  readonly values: Uint8Array[];
}

/**
 * The storage under one shard, with two implementations that share the contract tests:
 * RocksShardLog (durable, one RocksDB per shard) and MemoryShardLog (UsePersistentStorage=false).
 * Only the shard worker that owns it calls it, one call at a time.
 */
export interface ShardLog {
  readonly persistent: boolean;
  /**
   * Opens the storage and returns every queue it holds. States written before queues had
   * priorities have no `id` and `priority`; ShardCore fills them in (the default priority).
   */
  open(): Promise<StreamState[]>;
  batch(): LogBatch;
  /**
   * Up to `limit` consecutive entries of a queue from `fromSeq`, stopping after `maxBytes`.
   * `entryBytes`: the queue's average entry size, when known, so that a backend fetching entries
   * several at a time fetches about `maxBytes`' worth per trip, not `limit` large entries at once.
   */
  read(queueId: string, fromSeq: number, limit: number, maxBytes: number, entryBytes?: number): Promise<ReadPage>;
  /**
   * Gives freed space back to the file system (RocksDB compaction); a no-op in memory. With
   * `ranges`, compacts only those key ranges (what was trimmed), not the live data beside them.
   */
  reclaim(ranges?: readonly TrimmedRange[]): Promise<void>;
  /** Bytes the storage occupies on disk (0 in memory). */
  diskBytes(): number;
  /** Makes everything written so far survive power loss (fsync of the write-ahead log). */
  sync(): Promise<void>;
  close(): Promise<void>;
}
