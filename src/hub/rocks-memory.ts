/**
 * How much memory one RocksDB database may hold, from the memory budget (memoryBudget,
 * src/config/memory-plan.ts): its write buffer (memtable) size, and whether it has RocksDB's
 * default block cache (32 MiB; rocksdb-native cannot size it, only turn it off).
 */
export interface RocksMemoryOptions {
  readonly writeBufferBytes?: number;
  readonly blockCache?: boolean;
}
