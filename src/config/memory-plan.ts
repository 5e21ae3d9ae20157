import { availableParallelism } from 'node:os';
import type { DecodedConfig } from './schema.js';

/** The settings the plan reads (decoded, so the loader can check a budget before defaults are filled in). */
export type MemorySettings = Pick<DecodedConfig, 'memoryBudget'> & {
  readonly store: Pick<DecodedConfig['store'], 'shards' | 'persistent' | 'memtableSize' | 'maxSize'>;
  readonly mqtt: Pick<DecodedConfig['mqtt'], 'maxQueuedBytes' | 'maxQueuedBytesTotal' | 'maxConnectionBuffer'>;
};

/**
 * How `memoryBudget` is split between the parts of the hub that grow (docs/benchmarks.md,
 * "Memory budget"). The rule: every part first gets its floor (the least it runs with); what is
 * left of the budget is then split by fixed weights. A budget below the sum of the floors is a
 * configuration error. A setting of its own (store.memtableSize, mqtt.maxQueuedBytesTotal, …) stays
 * an upper bound: the plan takes the smaller of it and the part's share, never more.
 *
 * The fixed part of the process (the `node` executable's pages, Outpost's compiled code, thread
 * stacks, each isolate's start-up heap) is not in the budget: it does not grow, and nothing
 * configurable bounds it (about 85-120 MiB of RSS on the 2-core machine, docs/benchmarks.md; the
 * idle release, src/hub/idle-memory-release.ts, gives back what start-up left behind).
 */

const MIB = 1024 * 1024;
const KIB = 1024;

/**
 * The main thread's old space: Outpost's code and objects live in 11-12 MiB at idle, and QoS 0
 * fan-in promotes enough in flight that 25 MiB ended the hub (V8: heap out of memory, measured)
 * while 40 MiB ran fan-in and fan-out (docs/benchmarks.md, "Memory budget").
 */
const MAIN_HEAP_FLOOR = 40 * MIB;
/** A shard worker's old space: its isolate starts with 3-4 MiB; queue states and read pages on top. */
const WORKER_OLD_FLOOR = 12 * MIB;
/** A worker's young generation is three semi-spaces' worth in V8: 3 MiB is a 1 MiB semi-space. */
const WORKER_YOUNG_SMALL = 3 * MIB;
const WORKER_YOUNG_LARGE = 6 * MIB;
/** From this budget on, workers get 2 MiB semi-spaces instead of 1 MiB, and the main thread 8 MiB. */
const LARGE_YOUNG_FROM = 256 * MIB;
/**
 * The main thread's semi-space from LARGE_YOUNG_FROM on. 8 MiB lowered every peak by 12-21 MiB
 * against V8's 16 MiB at the same or better throughput; 2 MiB brought the broker scenarios to
 * 126-129 MiB but durable routing to 87-90k msg/s against 102-105k (its messages outlive a small
 * young generation), and at 2 and 4 MiB QoS 1 fan-in's peak was bimodal in an earlier build
 * (docs/benchmarks.md, "The main thread's young generation, held at run time").
 */
const MAIN_SEMI_LARGE_MB = 8;
/** Each RocksDB database keeps up to two write buffers (maxWriteBufferNumber 2). */
const WRITE_BUFFERS_PER_DB = 2;
const WRITE_BUFFER_FLOOR = 256 * KIB;
/** The twin and C2D databases see a few writes per device: they never need more than this. */
const SMALL_DB_WRITE_BUFFER_MAX = 1 * MIB;
const QUEUE_FLOOR = 1 * MIB;
const CONNECTION_BUFFER_FLOOR = 64 * KIB;

/** Weights of what is left after the floors (they add up to 1). */
export const MEMORY_WEIGHTS = { mainHeap: 0.35, queues: 0.2, writeBuffers: 0.3, workers: 0.15 } as const;
/** Of the write-buffer part: the store's shards, the broker's database, twin and C2D each. */
const WRITE_BUFFER_WEIGHTS = { shards: 0.7, broker: 0.2, small: 0.05 } as const;

export interface MemoryPlan {
  readonly budgetBytes: number;
  /** Shards the plan was made for (store.shards, or one per core). */
  readonly shards: number;
  /** The sum of the floors: the least budget this configuration runs with. */
  readonly minimumBytes: number;
  /**
   * The main thread's heap. The semi-space is applied at run time (YoungGenerationCap); the old
   * space only on the node command line (NODE_OPTIONS, `mainHeapFlags`).
   */
  readonly mainHeap: { readonly maxOldSpaceMb: number; readonly maxSemiSpaceMb: number };
  /** resourceLimits of each store shard worker. */
  readonly shardWorker: { readonly maxOldGenerationSizeMb: number; readonly maxYoungGenerationSizeMb: number };
  /** resourceLimits of the route compiler's worker (short-lived; not part of the split). */
  readonly compilerWorker: { readonly maxOldGenerationSizeMb: number; readonly maxYoungGenerationSizeMb: number };
  /** RocksDB write buffer (memtable) size of each store shard, the broker, twin and C2D databases. */
  readonly writeBufferBytes: { readonly shard: number; readonly broker: number; readonly twin: number; readonly c2d: number };
  /** RocksDB's block cache (32 MiB per database); on with a persistent store: rocksdb-native cannot size it, so it is outside the split. */
  readonly blockCache: boolean;
  /** Effective mqtt.maxQueuedBytesTotal and mqtt.maxQueuedBytes. */
  readonly queuedBytesTotal: number;
  readonly queuedBytesPerSession: number;
  /** Effective mqtt.maxConnectionBuffer (per connection). */
  readonly connectionBufferBytes: number;
  /** Effective store.maxSize of a store kept in memory (its queues live in the shard workers). */
  readonly memoryStoreBytes: number | undefined;
}

/** The shard count a new store would get: store.shards, or one per core (as the store decides). */
export function plannedShards(config: Pick<MemorySettings, 'store'>): number {
  return config.store.shards === 0 ? Math.max(1, Math.min(64, availableParallelism())) : config.store.shards;
}

/** Semi-space size (MiB) of the main thread, and young generation of each worker, by budget tier. */
function youngSizes(large: boolean): { semiMb: number; workerYoung: number } {
  return large ? { semiMb: MAIN_SEMI_LARGE_MB, workerYoung: WORKER_YOUNG_LARGE } : { semiMb: 1, workerYoung: WORKER_YOUNG_SMALL };
}

/**
 * The floors of a configuration with `shards` shards, summed: below it the hub does not run. The
 * young generations count in full (V8 holds three semi-spaces' worth); `large` is the tier of
 * budgets from 256 MiB, whose semi-spaces are larger (workers 2 MiB, the main thread 8 MiB).
 */
export function memoryFloor(shards: number, persistent: boolean, large = false): number {
  const databases = persistent ? shards + 3 : 0;
  const { semiMb, workerYoung } = youngSizes(large);
  return MAIN_HEAP_FLOOR + 3 * semiMb * MIB + shards * (WORKER_OLD_FLOOR + workerYoung) + databases * WRITE_BUFFERS_PER_DB * WRITE_BUFFER_FLOOR + QUEUE_FLOOR;
}

export function planMemory(config: MemorySettings, shards = plannedShards(config)): MemoryPlan {
  const budget = config.memoryBudget;
  const persistent = config.store.persistent;
  const largeYoung = budget >= LARGE_YOUNG_FROM && budget >= memoryFloor(shards, persistent, true);
  const { semiMb, workerYoung } = youngSizes(largeYoung);
  const minimum = memoryFloor(shards, persistent);
  const rest = Math.max(0, budget - memoryFloor(shards, persistent, largeYoung));
  const mib = (bytes: number) => Math.max(1, Math.floor(bytes / MIB));

  const mainHeap = MAIN_HEAP_FLOOR + rest * MEMORY_WEIGHTS.mainHeap;
  const workerOld = WORKER_OLD_FLOOR + (rest * MEMORY_WEIGHTS.workers) / shards;

  // Write buffers: a store in memory has no databases but the broker's, twin's and C2D's are in
  // memory too then; its share becomes the memory store's queue bytes instead.
  const buffers = rest * MEMORY_WEIGHTS.writeBuffers;
  const perBuffer = (share: number) => Math.max(WRITE_BUFFER_FLOOR, Math.floor(share / WRITE_BUFFERS_PER_DB));
  const shardBuffer = Math.min(config.store.memtableSize, perBuffer((buffers * WRITE_BUFFER_WEIGHTS.shards) / shards));
  const brokerBuffer = Math.min(config.store.memtableSize, perBuffer(buffers * WRITE_BUFFER_WEIGHTS.broker));
  const smallBuffer = Math.min(SMALL_DB_WRITE_BUFFER_MAX, perBuffer(buffers * WRITE_BUFFER_WEIGHTS.small));
  // Always on: rocksdb-native cannot size it, and without it a store shard reopening with data
  // took over 15 s instead of about 4 (test/c2d/c2d-sdk-restart, under load): every read decodes
  // its index and data blocks again. Not bounded by the budget (docs/benchmarks.md).
  const blockCache = persistent;

  const queuesTotal = Math.min(config.mqtt.maxQueuedBytesTotal, Math.floor(QUEUE_FLOOR + rest * MEMORY_WEIGHTS.queues));
  return {
    budgetBytes: budget,
    shards,
    minimumBytes: minimum,
    mainHeap: { maxOldSpaceMb: mib(mainHeap), maxSemiSpaceMb: semiMb },
    shardWorker: { maxOldGenerationSizeMb: mib(workerOld), maxYoungGenerationSizeMb: mib(workerYoung) },
    compilerWorker: { maxOldGenerationSizeMb: mib(WORKER_OLD_FLOOR * 2), maxYoungGenerationSizeMb: mib(WORKER_YOUNG_SMALL) },
    writeBufferBytes: { shard: shardBuffer, broker: brokerBuffer, twin: smallBuffer, c2d: smallBuffer },
    blockCache,
    queuedBytesTotal: queuesTotal,
    queuedBytesPerSession: Math.min(config.mqtt.maxQueuedBytes, queuesTotal),
    // Per connection: a budget / 128 each (1 MiB at 128 MiB), so a fan-out to a hundred slow
    // subscribers holds at most the budget's worth of unsent bytes.
    connectionBufferBytes: Math.min(config.mqtt.maxConnectionBuffer, Math.max(CONNECTION_BUFFER_FLOOR, Math.floor(budget / 128))),
    memoryStoreBytes: persistent ? undefined : Math.min(config.store.maxSize, Math.floor(buffers)),
  };
}

/** The node flags that bound the main thread as the plan says (NODE_OPTIONS; docs/config.md). */
export function mainHeapFlags(plan: MemoryPlan): string {
  return `--max-old-space-size=${plan.mainHeap.maxOldSpaceMb} --max-semi-space-size=${plan.mainHeap.maxSemiSpaceMb}`;
}
