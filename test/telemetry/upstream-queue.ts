/**
 * The messages waiting in the `$upstream` queue of a persistent store, read from its files the way
 * `outpost store stats` reads them (each shard's RocksDB opened read-only, beside a running hub).
 */
import type { HubMessage } from '../../src/hub/message/index.js';
import { RocksShardLog } from '../../src/hub/store/rocks-shard-log.js';
import { entryMessage } from '../../src/hub/store/entry-header.js';
import { decodeMessage } from '../../src/hub/store/message-codec.js';
import { holdsDatabase, readLayout, shardDir } from '../../src/hub/store/store-layout.js';

const PAGE = 1_000;

export async function upstreamMessages(storeDir: string): Promise<HubMessage[]> {
  const layout = readLayout(storeDir);
  if (layout === undefined) return [];
  const messages: HubMessage[] = [];
  for (let shard = 0; shard < layout.shards; shard++) {
    // A shard that has had no message has no database yet (store.shardIdleStop).
    if (!holdsDatabase(shardDir(storeDir, shard))) continue;
    const log = new RocksShardLog({ dir: shardDir(storeDir, shard), memtableBytes: 1024 * 1024, readOnly: true });
    try {
      for (const state of await log.open()) {
        if (state.endpoint.kind !== 'upstream') continue;
        for (let seq = state.head; seq < state.tail; ) {
          const page = await log.read(state.id ?? state.endpoint.id, seq, PAGE, Number.MAX_SAFE_INTEGER);
          if (page.values.length === 0) break;
          for (const value of page.values) messages.push(decodeMessage(entryMessage(value)));
          seq = page.firstSeq + page.values.length;
        }
      }
    } finally {
      await log.close();
    }
  }
  return messages;
}
