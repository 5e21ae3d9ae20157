/**
 * How much memory one RocksDB database may hold, from the memory budget (memoryBudget,
 * src/config/memory-plan.ts): its write buffer (memtable) size, and whether it has RocksDB's
 * default block cache (32 MiB; rocksdb-native cannot size it, only turn it off).
 */
export interface RocksMemoryOptions {
  readonly writeBufferBytes?: number;
  readonly blockCache?: boolean;
}

/**
 * rocksdb-native's options for a database with or without its block cache. Without one, RocksDB
 * refuses to open with index and filter blocks kept in the cache (EINVAL): the table readers keep
 * them instead (a few KiB per table file of a queue store).
 */
export function blockCacheOptions(blockCache: boolean | undefined): { blockCache: boolean; tableCacheIndexAndFilterBlocks: boolean } {
  const on = blockCache ?? true;
  return { blockCache: on, tableCacheIndexAndFilterBlocks: on };
}
