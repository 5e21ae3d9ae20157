/**
 * A full disk, for real: the store on a small tmpfs (needs root to mount; skipped otherwise). New
 * messages are refused with OUTPOST_STORE_DISK_FULL (never acknowledged), nothing acknowledged is
 * lost or corrupted, the process keeps running, and the store accepts messages again by itself
 * once space is back — both with the free-space reserve (store.minFreeDisk) and when RocksDB
 * itself runs out of space.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import type { MessageStore } from '../../src/hub/store/index.js';
import { basicRoutes, INPUT_A, message, openStore, RecordingTarget } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };
const MIB = 1024 * 1024;

function mountTmpfs(dir: string, bytes: number): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs: ${String(error)}`;
  }
}

/** Submits numbered messages until one is refused; returns the numbers acknowledged and the refusal. */
async function fillUntilRefused(store: MessageStore, from: number): Promise<{ acked: number[]; error: { code?: string } }> {
  const acked: number[] = [];
  for (let n = from; ; n += 200) {
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => store.submit(message(sensor, n + i, { bodyBytes: 4096 }))));
    for (const [i, result] of results.entries()) if (result.status === 'fulfilled') acked.push(n + i);
    const refused = results.find((r) => r.status === 'rejected');
    if (refused !== undefined) return { acked, error: (refused as PromiseRejectedResult).reason as { code?: string } };
    if (n - from > 200_000) throw new Error('the disk never filled');
  }
}

/** Retries one submit until the store takes it again (RocksDB resumes on its own after space is freed). */
async function untilAccepted(store: MessageStore, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await store.submit(message(sensor, n, { bodyBytes: 16 }));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('full disk (tmpfs)', () => {
  const root = tempDir('outpost-diskfull-');
  const mountPoint = join(root.path, 'mnt');
  let skip: string | undefined;
  before(() => {
    mkdirSync(mountPoint);
    skip = mountTmpfs(mountPoint, 48 * MIB);
  });
  after(() => {
    if (skip === undefined) execFileSync('umount', [mountPoint]);
    root.remove();
  });

  it('refuses new messages at the free-space reserve and resumes once delivered messages are reclaimed', async (t) => {
    // The suite installs and runs as root (scripts/install-test-deps.sh, .ci/run): a tmpfs can be
    // mounted, so failing to is a failure, not a reason to skip.
    assert.equal(skip, undefined, `cannot mount a tmpfs for the full-disk test: ${skip}`);
    const dir = join(mountPoint, 'reserve');
    const store = await openStore('rocksdb', dir, basicRoutes(), { shards: 1, memtableBytes: MIB, minFreeDiskBytes: 24 * MIB });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    const { acked, error } = await fillUntilRefused(store, 0);
    assert.equal(error.code, 'OUTPOST_STORE_DISK_FULL');
    assert.ok(acked.length > 1000, `${acked.length} accepted before the reserve`);
    assert.ok(store.metrics.refusedDiskFull >= 1);
    target.available = () => true;
    await target.until(() => store.metrics.delivered === acked.length, 30_000, 'the backlog to drain');
    assert.deepEqual(target.firstDeliveries(INPUT_A), acked, 'every acknowledged message, in order');
    // Delivered entries are trimmed and compacted away, which frees the reserve again.
    const deadline = Date.now() + 20_000;
    for (;;) {
      await store.expireNow();
      const accepted = await store.submit(message(sensor, 1_000_000)).then(() => true, () => false);
      if (accepted) break;
      if (Date.now() > deadline) throw new Error('the store never accepted messages again');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await store.close();
  });

  it('survives RocksDB running out of space: refuses, keeps what it acknowledged, resumes when space is freed', async (t) => {
    // The suite installs and runs as root (scripts/install-test-deps.sh, .ci/run): a tmpfs can be
    // mounted, so failing to is a failure, not a reason to skip.
    assert.equal(skip, undefined, `cannot mount a tmpfs for the full-disk test: ${skip}`);
    const dir = join(mountPoint, 'enospc');
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(16 * MIB, 1));
    let store = await openStore('rocksdb', dir, basicRoutes(), { shards: 1, memtableBytes: MIB, minFreeDiskBytes: 0 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    const { acked, error } = await fillUntilRefused(store, 0);
    assert.equal(error.code, 'OUTPOST_STORE_DISK_FULL');
    assert.ok(acked.length > 500, `${acked.length} accepted before the disk filled`);
    // Still running and answering; a second attempt is refused the same way, not a crash.
    await assert.rejects(store.submit(message(sensor, 999_999)), { code: 'OUTPOST_STORE_DISK_FULL' });
    assert.equal((await store.stats()).totals.queued, acked.length);
    // The operator frees space; RocksDB resumes and so does the store.
    rmSync(filler);
    await untilAccepted(store, 500_000, 30_000);
    await store.close();
    // Nothing acknowledged was lost or damaged: reopen and deliver it all, in order.
    store = await openStore('rocksdb', dir, basicRoutes(), { shards: 1, memtableBytes: MIB, minFreeDiskBytes: 0 });
    const second = new RecordingTarget();
    store.attach(second);
    await second.until(() => store.metrics.delivered === acked.length + 1, 30_000, 'the backlog after the restart');
    assert.deepEqual(second.firstDeliveries(INPUT_A), [...acked, 500_000]);
    await store.close();
  });
});
