/**
 * A persistent store across restarts (clean close and reopen): what was not acknowledged is
 * delivered after the restart, in order; what was acknowledged and checkpointed is not; the shard
 * count a store was created with is kept; every sync mode stores and reopens; a message damaged on
 * disk is removed and logged while the rest flow (before, its page's decode threw in a promise
 * callback: an unhandled rejection, which ends a hub).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { RocksShardLog } from '../../src/hub/store/rocks-shard-log.js';
import { shardDir } from '../../src/hub/store/store-layout.js';
import { ENTRY_HEADER_BYTES } from '../../src/hub/store/entry-header.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/index.js';
import { MessageStore } from '../../src/hub/store/message-store.js';
import { basicRoutes, INPUT_A, message, openStore, priorityOrder, priorityRoutes, RecordingTarget, storeOptions, submitPriorityMix } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };

describe('message store restarts (rocksdb)', () => {
  const dirs: { remove(): void; path: string }[] = [];
  after(() => {
    for (const dir of dirs) dir.remove();
  });
  const newDir = () => {
    const dir = tempDir('outpost-restart-');
    dirs.push(dir);
    return dir.path;
  };

  it('delivers after a restart what was not acknowledged before it, and only that', async () => {
    const dir = newDir();
    let store = await openStore('rocksdb', dir, basicRoutes());
    let target = new RecordingTarget();
    target.manual = () => true;
    store.attach(target);
    await Promise.all(Array.from({ length: 5000 }, (_, n) => store.submit(message(sensor, n))));
    await target.until(() => target.unsettled.size === 64);
    // The module acknowledges the first 40 of the window, then the hub stops.
    for (const delivery of [...target.unsettled].slice(0, 40)) delivery.settle('acked');
    await target.until(() => store.metrics.delivered === 40);
    await store.close();

    store = await openStore('rocksdb', dir, basicRoutes());
    target = new RecordingTarget();
    store.attach(target);
    await target.until(() => store.metrics.delivered === 4960, 20_000);
    assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 4960 }, (_, n) => n + 40));
    assert.equal(target.deliveries.length, 4960, 'no duplicates after a clean stop');
    await store.close();
  });

  it('keeps each priority queue across a restart and delivers from disk highest priority first', async () => {
    const dir = newDir();
    let store = await openStore('rocksdb', dir, priorityRoutes());
    await submitPriorityMix(store, 2500);
    await store.close();

    // More than one read-ahead (2,048) per priority: the pages come back from disk in turn, and
    // a lower priority must not go out while a higher one is still being read.
    store = await openStore('rocksdb', dir, priorityRoutes());
    const target = new RecordingTarget();
    store.attach(target);
    await target.until(() => store.metrics.delivered === 7500, 30_000);
    assert.deepEqual(target.firstDeliveries(INPUT_A), priorityOrder(2500));
    await store.close();
  });

  it('opens a store written before queues had priorities (states without id and priority)', async () => {
    const dir = newDir();
    let store = await openStore('rocksdb', dir, basicRoutes());
    await Promise.all(Array.from({ length: 100 }, (_, n) => store.submit(message(sensor, n))));
    await store.close();
    // Rewrite every queue state as the earlier version wrote it: the endpoint and the counters only.
    for (let shard = 0; shard < 2; shard++) {
      const log = new RocksShardLog({ dir: shardDir(dir, shard), memtableBytes: 1024 * 1024 });
      const states = await log.open();
      const batch = log.batch();
      for (const { endpoint, head, tail, cumHead, cumTail } of states) {
        const old = { endpoint, head, tail, cumHead, cumTail };
        // The key still comes from `id`, which the old record did not hold: not enumerable, not packed.
        Object.defineProperty(old, 'id', { value: endpoint.id, enumerable: false });
        batch.putState(old as unknown as Parameters<typeof batch.putState>[0]);
      }
      await batch.commit();
      const reread = await log.open();
      assert.ok(reread.every((state) => state.id === undefined && state.priority === undefined), 'the old format was written');
      await log.close();
    }
    store = await openStore('rocksdb', dir, basicRoutes());
    const target = new RecordingTarget();
    store.attach(target);
    await target.until(() => store.metrics.delivered === 100);
    assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 100 }, (_, n) => n));
    await store.close();
  });

  it('removes a queued message whose stored bytes do not decode, logs it, and delivers the rest in order', async () => {
    const dir = newDir();
    let store = await openStore('rocksdb', dir, basicRoutes());
    await Promise.all(Array.from({ length: 100 }, (_, n) => store.submit(message(sensor, n))));
    await store.close();
    // Damage message 10 on disk, as a bad sector would: its entry header stays, the message's
    // format byte becomes one no version wrote; the length (so the queue's byte count) is kept.
    let damaged = 0;
    for (let shard = 0; shard < 2; shard++) {
      const log = new RocksShardLog({ dir: shardDir(dir, shard), memtableBytes: 1024 * 1024 });
      for (const state of await log.open()) {
        if (state.tail - state.head !== 100) continue;
        const page = await log.read(state.id, state.head + 10, 1, Number.POSITIVE_INFINITY);
        const value = Buffer.from(page.values[0]!);
        value[ENTRY_HEADER_BYTES] = 0x7f;
        const batch = log.batch();
        batch.put(state.id, state.head + 10, value);
        await batch.commit();
        damaged++;
      }
      await log.close();
    }
    assert.equal(damaged, 1, 'one queue held the 100 messages');

    const logged: { code?: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text.trim() !== '') logged.push(JSON.parse(text) as { code?: string });
        done();
      },
    });
    store = await MessageStore.open(storeOptions('rocksdb', dir), basicRoutes(), createLogger({ level: 'warn', destination }));
    const target = new RecordingTarget();
    store.attach(target);
    await target.until(() => store.metrics.delivered === 99);
    assert.deepEqual(
      target.firstDeliveries(INPUT_A),
      Array.from({ length: 100 }, (_, n) => n).filter((n) => n !== 10),
    );
    assert.equal(store.metrics.undeliverable, 1);
    assert.ok(
      logged.some((line) => line.code === 'OUTPOST_STORE_MESSAGE_CORRUPT'),
      'the damaged message is logged with its code',
    );
    const stats = await store.stats();
    assert.equal(stats.totals.queued, 0, 'the damaged entry left the queue with the others');
    await store.close();
  });

  it('keeps the shard count the store was created with', async () => {
    const dir = newDir();
    let store = await openStore('rocksdb', dir, basicRoutes(), { shards: 3 });
    assert.equal(store.shardCount, 3);
    await store.close();
    store = await openStore('rocksdb', dir, basicRoutes(), { shards: 5 });
    assert.equal(store.shardCount, 3);
    await store.close();
  });

  for (const sync of ['none', 'interval', 'batch'] as const) {
    it(`stores and reopens with store.sync ${sync}`, async () => {
      const dir = newDir();
      let store = await openStore('rocksdb', dir, basicRoutes(), { sync, syncIntervalMs: 20 });
      const target = new RecordingTarget();
      target.available = () => false;
      store.attach(target);
      await Promise.all(Array.from({ length: 500 }, (_, n) => store.submit(message(sensor, n))));
      await store.close();
      store = await openStore('rocksdb', dir, basicRoutes(), { sync });
      const stats = await store.stats();
      assert.equal(stats.totals.queued, 500);
      await store.close();
    });
  }
});
