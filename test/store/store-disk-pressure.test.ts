/**
 * Issue 14 item 6: after a full disk, space must come back as soon as the backlog is gone. The
 * store refuses below store.minFreeDisk; delivered (or expired) entries are only deletions until
 * RocksDB compacts them, and the size-based reclaim waits for disk use well above the live data
 * plus 4 memtables, which a volume barely larger than the reserve never reaches. So free space
 * stayed under the reserve and the store kept refusing after the backlog had drained. On a small
 * real tmpfs: fill to the reserve, drain (and, separately, expire) the backlog, and the store must
 * accept messages again by itself — only its own timers run, the test never compacts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MessageStore } from '../../src/hub/store/index.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { basicRoutes, INPUT_A, message, openStore, RecordingTarget } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };
const MIB = 1024 * 1024;
/** Volume, reserve and memtable in the proportions of the report (200 MiB volume, 128 MiB reserve, 16 MiB memtables), scaled down. */
const VOLUME = 48 * MIB;
const RESERVE = 32 * MIB;
const MEMTABLE = 8 * MIB;

async function fillUntilRefused(store: MessageStore, enqueuedAtMs?: number): Promise<{ acked: number[]; code: string | undefined }> {
  const acked: number[] = [];
  for (let n = 0; ; n += 100) {
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => store.submit(message(sensor, n + i, { bodyBytes: 4096, ...(enqueuedAtMs === undefined ? {} : { enqueuedAtMs }) }))));
    for (const [i, result] of results.entries()) if (result.status === 'fulfilled') acked.push(n + i);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused !== undefined) return { acked, code: (refused.reason as { code?: string }).code };
    if (n > 100_000) throw new Error('the disk never filled');
  }
}

/** Submits one small message every 100 ms until the store takes it; the store's timers do the rest. */
async function acceptedWithin(store: MessageStore, timeoutMs: number): Promise<number> {
  const startedMs = Date.now();
  for (let attempt = 0; ; attempt++) {
    const accepted = await store.submit(message(sensor, 1_000_000 + attempt, { bodyBytes: 16 })).then(
      () => true,
      () => false,
    );
    if (accepted) return Date.now() - startedMs;
    if (Date.now() - startedMs > timeoutMs) throw new Error(`the store still refused ${timeoutMs} ms after the backlog was gone`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('space comes back after a full disk (tmpfs)', () => {
  const mounts: Tmpfs[] = [];
  after(() => {
    for (const mount of mounts) mount.remove();
  });

  it('accepts messages again soon after the backlog drained', async (t) => {
    const volume = mountTmpfs(VOLUME);
    mounts.push(volume);
    // cleanupInterval shortened so the test does not wait 10 s per sweep; reclaimInterval as in production.
    const store = await openStore('rocksdb', volume.path, basicRoutes(), { shards: 1, memtableBytes: MEMTABLE, minFreeDiskBytes: RESERVE, cleanupIntervalMs: 500, reclaimIntervalMs: 60_000 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    const { acked, code } = await fillUntilRefused(store);
    assert.equal(code, 'OUTPOST_STORE_DISK_FULL');
    assert.ok(acked.length > 500, `${acked.length} accepted before the reserve`);
    target.available = () => true;
    await target.until(() => store.metrics.delivered === acked.length, 30_000, 'the backlog to drain');
    assert.deepEqual(target.firstDeliveries(INPUT_A), acked);
    const waitedMs = await acceptedWithin(store, 15_000);
    t.diagnostic(`accepted again ${waitedMs} ms after the drain`);
    await store.close();
  });

  it('accepts messages again soon after the backlog expired', async (t) => {
    const volume = mountTmpfs(VOLUME);
    mounts.push(volume);
    const store = await openStore('rocksdb', volume.path, basicRoutes({}, 2), { shards: 1, memtableBytes: MEMTABLE, minFreeDiskBytes: RESERVE, cleanupIntervalMs: 500, reclaimIntervalMs: 60_000 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    const enqueuedAtMs = Date.now();
    const { acked, code } = await fillUntilRefused(store, enqueuedAtMs);
    assert.equal(code, 'OUTPOST_STORE_DISK_FULL');
    assert.ok(acked.length > 500, `${acked.length} accepted before the reserve`);
    // The endpoint never connects; its messages expire 2 s after they were enqueued.
    await target.until(() => store.metrics.expired === acked.length, 30_000, 'the backlog to expire');
    const waitedMs = await acceptedWithin(store, 15_000);
    t.diagnostic(`accepted again ${waitedMs} ms after the expiry`);
    assert.equal(target.deliveries.length, 0);
    await store.close();
  });
});
