/**
 * store.shardIdleStop (issue 20): a shard's worker thread and RocksDB cost about 10 MiB, so a
 * shard with nothing on disk starts them with its first message, and a persistent shard with
 * nothing queued stops them after the idle time; the next message starts it again from its files.
 * Real shard workers and real RocksDB; the thread counts are the process's own (/proc/self/task).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import RocksDB from 'rocksdb-native';
import { until } from '../helpers/eventually.js';
import { testScope } from '../helpers/outpost-process.js';
import type { MessageStore } from '../../src/hub/store/index.js';
import { shardOf } from '../../src/hub/store/source-shard.js';
import { shardDir } from '../../src/hub/store/store-layout.js';
import { basicRoutes, INPUT_A, message, openStore, RecordingTarget } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };
const SHARDS = 2;
const sensorShard = shardOf(message(sensor, 0), SHARDS);

function threads(): number {
  return readdirSync('/proc/self/task').length;
}

async function submitRange(store: MessageStore, from: number, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => store.submit(message(sensor, from + i))));
}

describe('store shards started on first use and stopped when idle (store.shardIdleStop)', () => {
  const scope = testScope('outpost-idle-stop-', after);
  const newDir = () => scope.newDir();

  it('opens a new store without shard threads, and starts only the shard of the first message', async () => {
    const dir = newDir();
    const store = await openStore('rocksdb', join(dir, 'lazy'), basicRoutes(), { shards: SHARDS });
    try {
      assert.equal(store.runningShards, 0);
      for (let shard = 0; shard < SHARDS; shard++) assert.equal(existsSync(join(shardDir(join(dir, 'lazy'), shard), 'CURRENT')), false, `shard ${shard} has no database yet`);
      // Sweeps and statistics do not start a cold shard.
      await store.expireNow();
      const stats = await store.stats();
      assert.equal(stats.totals.queued, 0);
      assert.equal(store.runningShards, 0);

      const cold = threads();
      const target = new RecordingTarget();
      store.attach(target);
      await submitRange(store, 0, 100);
      await target.until(() => store.metrics.delivered === 100);
      // The shard's worker thread (RocksDB's background threads are the process's, shared).
      assert.ok(threads() >= cold + 1, `threads: ${cold} cold, ${threads()} with one shard running`);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 100 }, (_, n) => n));
      assert.equal(store.runningShards, 1);
      assert.ok(existsSync(join(shardDir(join(dir, 'lazy'), sensorShard), 'CURRENT')));
      assert.ok(!existsSync(join(shardDir(join(dir, 'lazy'), 1 - sensorShard), 'CURRENT')));
    } finally {
      await store.close();
    }
  });

  it('stops a shard with nothing queued after the idle time and starts it again for the next message: nothing lost or repeated', async () => {
    const dir = newDir();
    let store = await openStore('rocksdb', dir, basicRoutes(), { shards: SHARDS, shardIdleStopMs: 300 });
    const target = new RecordingTarget();
    store.attach(target);
    try {
      await submitRange(store, 0, 500);
      await target.until(() => store.metrics.delivered === 500);
      await until(() => store.runningShards === 0, 5_000, 'the idle shard stops');
      // A stopped shard's statistics are those it stopped with.
      const stats = await store.stats();
      assert.equal(stats.totals.queued, 0);
      assert.ok(stats.totals.diskBytes > 0, 'its files are still counted');
      assert.equal(store.runningShards, 0);

      await submitRange(store, 500, 500);
      await target.until(() => store.metrics.delivered === 1000);
      assert.equal(store.runningShards, 1);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 1000 }, (_, n) => n));
      assert.equal(target.deliveries.length, 1000, 'no message delivered twice');
      await until(() => store.runningShards === 0, 5_000, 'it stops again');
    } finally {
      await store.close();
    }
    // Restarted: every checkpoint was written, so nothing comes again.
    store = await openStore('rocksdb', dir, basicRoutes(), { shards: SHARDS, shardIdleStopMs: 300 });
    const again = new RecordingTarget();
    store.attach(again);
    try {
      assert.equal(store.runningShards, 1, 'the shard with a database starts with the store, to recover it');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(again.deliveries.length, 0);
      await submitRange(store, 1000, 10);
      await again.until(() => store.metrics.delivered === 10);
      assert.deepEqual(again.firstDeliveries(INPUT_A), Array.from({ length: 10 }, (_, n) => 1000 + n));
    } finally {
      await store.close();
    }
  });

  it('keeps a shard running while it has messages queued', async () => {
    const store = await openStore('rocksdb', newDir(), basicRoutes(), { shards: SHARDS, shardIdleStopMs: 200 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    try {
      await submitRange(store, 0, 50);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(store.runningShards, 1, 'five idle periods later, still running: 50 messages wait');
      target.available = () => true;
      store.retryNow(INPUT_A);
      await target.until(() => store.metrics.delivered === 50);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 50 }, (_, n) => n));
      await until(() => store.runningShards === 0, 5_000, 'the drained shard stops');
    } finally {
      await store.close();
    }
  });

  it('starts a store in memory on first use and never stops it (its queue positions live only in the thread)', async () => {
    const store = await openStore('memory', newDir(), basicRoutes(), { shards: SHARDS, shardIdleStopMs: 100 });
    const target = new RecordingTarget();
    store.attach(target);
    try {
      assert.equal(store.runningShards, 0);
      await submitRange(store, 0, 20);
      await target.until(() => store.metrics.delivered === 20);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(store.runningShards, 1);
      await submitRange(store, 20, 20);
      await target.until(() => store.metrics.delivered === 40);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 40 }, (_, n) => n));
      assert.equal(target.deliveries.length, 40);
    } finally {
      await store.close();
    }
  });

  it('refuses the messages of a shard that cannot start with the open error, and starts it with the next message once it can', async () => {
    const dir = newDir();
    const store = await openStore('rocksdb', dir, basicRoutes(), { shards: SHARDS });
    const target = new RecordingTarget();
    store.attach(target);
    // Another handle holds the shard's RocksDB lock (as another process on the same directory would).
    const squatter = new RocksDB(shardDir(dir, sensorShard));
    await squatter.ready();
    try {
      const refused = await Promise.allSettled(Array.from({ length: 5 }, (_, n) => store.submit(message(sensor, n))));
      for (const result of refused) {
        assert.equal(result.status, 'rejected');
        const error = (result as PromiseRejectedResult).reason as { code?: string; message?: string };
        assert.equal(error.code, 'OUTPOST_STORE_OPEN_FAILED', String(error.message));
        assert.match(String(error.message), /lock/i);
      }
      assert.equal(store.metrics.refusedWriteFailed, 5);
      assert.equal(store.runningShards, 0);
      await squatter.close();
      await submitRange(store, 5, 10);
      await target.until(() => store.metrics.delivered === 10);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 10 }, (_, n) => 5 + n));
    } finally {
      await squatter.close().catch(() => undefined);
      await store.close();
    }
  });
});
