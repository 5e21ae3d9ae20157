import { existsSync } from 'node:fs';
import { OutpostError } from '../../errors/index.js';
import { RocksShardLog } from './rocks-shard-log.js';
import { ShardCore } from './shard-core.js';
import type { ShardStatsResult } from './shard-protocol.js';
import { holdsDatabase, readLayout, shardDir } from './store-layout.js';
import { aggregateStats, type StoreStats } from './store-stats.js';

/**
 * Figures of a persistent store read straight from its files (`outpost store stats`), whether or
 * not a hub is running: each shard's RocksDB is opened read-only, which takes no lock and sees
 * what was written up to the moment it opens.
 */
export async function inspectStore(dir: string): Promise<StoreStats> {
  const layout = readLayout(dir);
  if (layout === undefined) {
    if (!existsSync(dir)) throw new OutpostError('OUTPOST_STORE_OPEN_FAILED', `no message store at ${dir} (it is created when the hub first starts)`);
    throw new OutpostError('OUTPOST_STORE_OPEN_FAILED', `${dir} holds no store.json: not a message store`);
  }
  const nowMs = Date.now();
  const shards: ShardStatsResult[] = [];
  for (let shard = 0; shard < layout.shards; shard++) {
    // A shard that has never had a message has no database yet (store.shardIdleStop): empty.
    if (!holdsDatabase(shardDir(dir, shard))) {
      shards.push({ ok: true, shard, persistent: true, diskBytes: 0, totals: { liveBytes: 0, liveCount: 0 }, queues: [], failed: undefined });
      continue;
    }
    const log = new RocksShardLog({ dir: shardDir(dir, shard), memtableBytes: 1024 * 1024, readOnly: true });
    const { core } = await ShardCore.open(
      { shard, dir: shardDir(dir, shard), memtableBytes: 1024 * 1024, sync: 'none', syncIntervalMs: 0, reclaimIntervalMs: 0, routes: { routes: [], rejected: [] }, defaultTtlSec: 0 },
      log,
    );
    try {
      shards.push(await core.stats(nowMs));
    } finally {
      await core.close();
    }
  }
  return aggregateStats(true, dir, shards, nowMs);
}
