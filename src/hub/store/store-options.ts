import { availableParallelism } from 'node:os';
import { planMemory, type MemoryPlan, type OutpostConfig } from '../../config/index.js';
import type { NativeMode } from '../../native/index.js';
import type { SyncMode } from './shard-protocol.js';

export type FullPolicy = 'refuse' | 'dropOldest';

/** Everything the message store is tuned with; `storeOptionsFromConfig` maps the `store` section. */
export interface StoreOptions {
  /** false: queues in memory (UsePersistentStorage=false), with the same behaviour otherwise. */
  readonly persistent: boolean;
  readonly dir: string;
  /** 0: one per core. Fixed when a persistent store is created (store.json). */
  readonly shards: number;
  readonly memtableBytes: number;
  /** RocksDB's block cache in every shard (memoryBudget). */
  readonly blockCache?: boolean;
  /** config.native: with the addon, each shard worker gives its idle memory back (ShardConfig.native). */
  readonly native?: NativeMode;
  /** V8 heap limits of each shard worker thread (memoryBudget); absent: Node's defaults. */
  readonly workerLimits?: { readonly maxOldGenerationSizeMb: number; readonly maxYoungGenerationSizeMb: number };
  /** V8 heap limits of the route compiler's thread (memoryBudget); absent: Node's defaults. */
  readonly compilerLimits?: { readonly maxOldGenerationSizeMb: number; readonly maxYoungGenerationSizeMb: number };
  readonly sync: SyncMode;
  readonly syncIntervalMs: number;
  /** Largest total of queued key and value bytes. */
  readonly maxSizeBytes: number;
  readonly fullPolicy: FullPolicy;
  /** Below this much free disk, new messages are refused before RocksDB runs out of space. */
  readonly minFreeDiskBytes: number;
  /** Time-to-live of messages whose route and deployment name none (Azure: 7200 s). */
  readonly defaultTtlSec: number;
  /** Messages in flight (sent, not acknowledged) per endpoint. */
  readonly deliveryWindow: number;
  /** The same for the `$upstream` endpoint (upstream.deliveryWindow); deliveryWindow when absent. */
  readonly upstreamWindow?: number;
  readonly ackTimeoutMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  readonly cleanupIntervalMs: number;
  readonly checkpointIntervalMs: number;
  readonly reclaimIntervalMs: number;
  /** Entries of one queue loaded on the main thread ahead of delivery. */
  readonly readAhead: number;
  readonly maxBatchMessages: number;
  readonly maxBatchBytes: number;
  /** Entries the expiry sweep looks at per shard and sweep. */
  readonly expireScanLimit: number;
  /**
   * store.shardIdleStop: above 0, shards with nothing on disk start their worker thread on the
   * first message, and persistent shards with nothing queued for this long stop it. 0 or absent:
   * every shard's thread runs from open to close.
   */
  readonly shardIdleStopMs?: number;
}

export const STORE_TUNING = {
  checkpointIntervalMs: 100,
  readAhead: 2048,
  maxBatchMessages: 2048,
  maxBatchBytes: 4 * 1024 * 1024,
  expireScanLimit: 20_000,
} as const;

/** The store's options from its settings, bounded by the memory budget's plan (memoryBudget). */
export function storeOptionsFromConfig(config: OutpostConfig, plan: MemoryPlan = planMemory(config)): StoreOptions {
  const store = config.store;
  return {
    persistent: store.persistent,
    dir: store.dir,
    shards: store.shards,
    memtableBytes: plan.writeBufferBytes.shard,
    blockCache: plan.blockCache,
    native: config.native,
    workerLimits: plan.shardWorker,
    compilerLimits: plan.compilerWorker,
    sync: store.sync,
    syncIntervalMs: store.syncInterval,
    // A store in memory keeps its queues in the shard workers: the budget bounds them.
    maxSizeBytes: plan.memoryStoreBytes ?? store.maxSize,
    fullPolicy: store.fullPolicy,
    minFreeDiskBytes: store.minFreeDisk,
    defaultTtlSec: Math.round(store.timeToLive / 1000),
    deliveryWindow: store.deliveryWindow,
    upstreamWindow: config.upstream.deliveryWindow,
    ackTimeoutMs: store.ackTimeout,
    retryMinMs: store.retryInterval,
    retryMaxMs: Math.max(store.retryInterval, store.retryIntervalMax),
    cleanupIntervalMs: store.cleanupInterval,
    shardIdleStopMs: store.shardIdleStop,
    reclaimIntervalMs: Math.max(store.cleanupInterval, 60_000),
    ...STORE_TUNING,
    readAhead: readAheadFor(store.deliveryWindow),
  };
}

/** Entries loaded ahead for an endpoint with this window: enough to refill it twice; a dead endpoint holds no more than this in memory. */
export function readAheadFor(window: number): number {
  return Math.max(STORE_TUNING.readAhead, 2 * window);
}

/** The shard count for a new store: one per core the process may use. */
export function defaultShardCount(): number {
  return Math.max(1, Math.min(64, availableParallelism()));
}
