// What workers/shard-worker.ts needs: the shard side of the store (the main thread uses index.ts).
export { ShardCore } from './shard-core.js';
export { RocksShardLog } from './rocks-shard-log.js';
export { MemoryShardLog } from './memory-shard-log.js';
export type { ShardConfig, ShardResult, ShardTask } from './shard-protocol.js';
