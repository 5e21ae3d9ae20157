/**
 * Disk space comes back (RocksDB): after a backlog drains, and after the messages of an endpoint
 * that never connects expire, the store's files shrink again without anyone asking (Azure #3981,
 * #2674, #7509: a store that only grows).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import type { MessageStore } from '../../src/hub/store/index.js';
import { basicRoutes, message, openStore, RecordingTarget } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };
const MIB = 1024 * 1024;
const COUNT = 24_000;
const BODY = 1024;

async function fill(store: MessageStore, enqueuedAtMs?: number): Promise<void> {
  for (let start = 0; start < COUNT; start += 2000) {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => store.submit(message(sensor, start + i, { bodyBytes: BODY, ...(enqueuedAtMs === undefined ? {} : { enqueuedAtMs }) }))));
  }
}

async function diskBytes(store: MessageStore): Promise<number> {
  return (await store.stats()).totals.diskBytes;
}

/**
 * Runs sweeps, as the cleanup timer does, until disk use falls below `bytes` (compaction runs in
 * the background). The deadline is on the monotonic clock: the TTL test sets the wall clock.
 */
async function sweepUntilBelow(store: MessageStore, bytes: number): Promise<number> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    await store.expireNow();
    const now = await diskBytes(store);
    if (now < bytes) return now;
    if (performance.now() > deadline) throw new Error(`disk use stayed at ${now} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('disk space is reclaimed (rocksdb)', () => {
  const dirs: { remove(): void }[] = [];
  after(() => {
    for (const dir of dirs) dir.remove();
  });

  it('shrinks after a backlog drains', async (t) => {
    const dir = tempDir('outpost-reclaim-');
    dirs.push(dir);
    const store = await openStore('rocksdb', dir.path, basicRoutes(), { memtableBytes: MIB, shards: 2 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    await fill(store);
    const full = await diskBytes(store);
    assert.ok(full > 20 * MIB, `the backlog is on disk (${full} bytes)`);
    target.available = () => true;
    await target.until(() => store.metrics.delivered === COUNT, 30_000, 'the backlog to drain');
    const after = await sweepUntilBelow(store, 12 * MIB);
    t.diagnostic(`disk: ${full} → ${after} bytes`);
    assert.ok(after < full / 2, `${full} → ${after} bytes`);
    await store.close();
  });

  it('shrinks after the messages of an endpoint that never connects expire', async (t) => {
    const dir = tempDir('outpost-reclaim-');
    dirs.push(dir);
    // The main thread's clock (where expiry is decided: the dispatcher and the sweep's `now`)
    // stands still while the backlog is written, and then jumps past the 1 s TTL. With a real
    // clock a fill slower than the TTL (a loaded machine: 4-5 s) saw its first messages expire,
    // checkpointed and trimmed before they ever reached a file, and the backlog was not on disk.
    const enqueuedAtMs = Date.now();
    t.mock.timers.enable({ apis: ['Date'], now: enqueuedAtMs });
    const store = await openStore('rocksdb', dir.path, basicRoutes({}, 1), { memtableBytes: MIB, shards: 2 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    await fill(store, enqueuedAtMs);
    assert.equal(store.metrics.expired, 0, 'nothing expired while the clock stood still');
    const full = await diskBytes(store);
    assert.ok(full > 20 * MIB, `the backlog is on disk (${full} bytes)`);
    t.mock.timers.setTime(enqueuedAtMs + 1_001);
    const after = await sweepUntilBelow(store, 12 * MIB);
    assert.equal((await store.stats()).totals.queued, 0);
    assert.equal(store.metrics.expired, COUNT);
    t.diagnostic(`disk: ${full} → ${after} bytes`);
    assert.ok(after < full / 2, `${full} → ${after} bytes`);
    await store.close();
  });
});
