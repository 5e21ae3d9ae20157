// micro-store-append — appending routed messages to the message store, no broker (a 'local'
// scenario): MessageStore.submit, which resolves once the shard worker has written the message
// (the point at which the hub may send PUBACK).
//
// Measures messages/s submitted and written, one shard (one Piscina thread, one RocksDB), one
// route (`FROM /messages/* INTO BrokeredEndpoint("/modules/sink/inputs/in")`), fixed-seed device
// telemetry with 200-byte bodies; no endpoint is attached, so queues only grow:
//   rocksdb            1,024 submits outstanding (many publishers at once), store.sync none (headline)
//   rocksdb-sync-batch the same with store.sync batch: fsync before each acknowledgement (group commit)
//   memory             the in-memory backend (store.persistent false), 1,024 outstanding
//   rocksdb-serial     one submit at a time, awaited (a lone QoS 1 publisher with a window of 1)
// Metrics: rocksdbVsMemory, serialMicros (µs per awaited submit).
// Run: npm run bench -- micro-store-append [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HubMessage } from '../../src/hub/message/index.js';
import { MessageStore, STORE_TUNING, type StoreOptions } from '../../src/hub/store/index.js';
import { createLogger } from '../../src/log/index.js';
import { mulberry32, seededBytes } from '../loadgen/prng.js';
import { measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import type { LocalScenario } from './scenario.js';

const OUTSTANDING = 1_024;
const SERIAL = 32;
const ROUTES = { routes: { all: 'FROM /messages/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' } };

function options(dir: string, persistent: boolean, sync: StoreOptions['sync']): StoreOptions {
  return {
    persistent,
    dir,
    shards: 1,
    memtableBytes: 64 * 1024 * 1024,
    sync,
    syncIntervalMs: 1_000,
    maxSizeBytes: 64 * 1024 ** 3,
    fullPolicy: 'refuse',
    minFreeDiskBytes: 0,
    defaultTtlSec: 7_200,
    deliveryWindow: 64,
    ackTimeoutMs: 30_000,
    retryMinMs: 10,
    retryMaxMs: 100,
    cleanupIntervalMs: 3_600_000,
    reclaimIntervalMs: 0,
    ...STORE_TUNING,
  };
}

function makeMessages(seed: number): HubMessage[] {
  const next = mulberry32(seed);
  return Array.from({ length: OUTSTANDING }, (_, i) => ({
    source: '/messages/',
    body: seededBytes(seed + i, 200),
    properties: { level: next() < 0.5 ? 'hot' : 'cold', site: 'plant-7' },
    systemProperties: { connectionDeviceId: `dev-${Math.floor(next() * 200)}`, messageId: `msg-${i}`, contentType: 'application/json', contentEncoding: 'utf-8' },
    enqueuedAtMs: 1_700_000_000_000 + i,
  }));
}

export const microStoreAppend: LocalScenario = {
  kind: 'local',
  name: 'micro-store-append',
  description: 'MessageStore.submit to one shard (RocksDB, RocksDB+fsync, memory; 1,024 outstanding or serial): messages/s',
  async run(runOptions) {
    const messages = makeMessages(runOptions.seed);
    const root = mkdtempSync(join(tmpdir(), 'outpost-bench-store-'));
    const logger = createLogger({ level: 'silent' });
    const stores: MessageStore[] = [];
    const open = async (name: string, persistent: boolean, sync: StoreOptions['sync']): Promise<MessageStore> => {
      const store = await MessageStore.open(options(join(root, name), persistent, sync), ROUTES, logger);
      stores.push(store);
      return store;
    };
    try {
      const concurrent = (name: string, what: string, store: MessageStore): VariantSpec => ({
        name,
        what,
        unit: 'messages',
        pass: async () => {
          await Promise.all(messages.map((m) => store.submit(m)));
          return messages.length;
        },
      });
      const rocks = await open('rocksdb', true, 'none');
      const variants: VariantSpec[] = [
        concurrent('rocksdb', `RocksDB, ${OUTSTANDING} submits outstanding, sync none`, rocks),
        concurrent('rocksdb-sync-batch', `RocksDB, ${OUTSTANDING} outstanding, fsync per group commit`, await open('rocksdb-sync', true, 'batch')),
        concurrent('memory', `in-memory queues, ${OUTSTANDING} outstanding`, await open('memory', false, 'none')),
        {
          name: 'rocksdb-serial',
          what: 'RocksDB, one submit at a time, awaited',
          unit: 'messages',
          pass: async () => {
            for (let i = 0; i < SERIAL; i++) await rocks.submit(messages[i]!);
            return SERIAL;
          },
        },
      ];
      const timing = microTiming(runOptions);
      const measured = await measureVariants(variants, timing, 'rocksdb');
      const serial = measured.find((v) => v.name === 'rocksdb-serial');
      return microOutcome({
        params: { shards: 1, outstanding: OUTSTANDING, bodyBytes: 200, routes: 1, seed: runOptions.seed },
        variants: measured,
        headline: 'rocksdb',
        timing,
        metrics: { serialMicros: serial === undefined ? null : 1e6 / serial.value },
        ratios: [['rocksdbVsMemory', 'rocksdb', 'memory']],
      });
    } finally {
      for (const store of stores) await store.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
