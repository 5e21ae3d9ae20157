// holdMallocThresholds (native/memory_release.cc, src/hub/malloc-thresholds.ts) keeps glibc from
// raising its mmap threshold after a large free, so a later large allocation is still mapped on
// its own (and given back when freed) instead of being carved from an arena; an operator's own
// malloc variables are left alone (docs/benchmarks.md, "malloc's thresholds held").
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { describeMallocThresholds, holdMallocThresholds, MALLOC_MMAP_THRESHOLD_BYTES } from '../../src/hub/malloc-thresholds.js';
import { ADDON_PATH } from '../../src/native/index.js';
import { selected } from './implementations.js';

const MIB = 1024 * 1024;

/**
 * In a fresh node (the thresholds are the whole process's): a 4 MiB Buffer is allocated and freed,
 * which makes glibc raise its threshold to 4 MiB unless held; then how many chunks a 1 MiB Buffer
 * adds to those malloc mapped on their own.
 */
function mappedChunksForOneMiB(hold: boolean): number {
  const script = `
    const addon = require(${JSON.stringify(ADDON_PATH)});
    ${hold ? `if (!addon.holdMallocThresholds(${MALLOC_MMAP_THRESHOLD_BYTES})) throw new Error('not held');` : ''}
    const chunks = () => addon.mallocStats().mappedChunks;
    (async () => {
      let big = Buffer.allocUnsafeSlow(${4 * MIB});
      const withBig = chunks();
      big = null;
      // V8 may free an ArrayBuffer's memory on a background thread after the collection.
      for (let i = 0; chunks() >= withBig; i++) {
        if (i === 300) throw new Error('the 4 MiB Buffer was never freed');
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const before = chunks();
      const kept = Buffer.allocUnsafeSlow(${MIB});
      process.stdout.write(String(chunks() - before + kept.length * 0));
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  return Number(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } }));
}

describe("malloc's thresholds", () => {
  it('the addon exports holdMallocThresholds and mallocStats, the TypeScript fallback neither', () => {
    if (selected.implementation === 'native') {
      assert.equal(typeof selected.holdMallocThresholds, 'function');
      const stats = selected.mallocStats?.();
      assert.ok(stats !== undefined && stats.arena > 0 && stats.inUse > 0 && stats.inUse <= stats.arena, JSON.stringify(stats));
    } else {
      assert.equal(selected.holdMallocThresholds, undefined);
      assert.equal(selected.mallocStats, undefined);
    }
  });

  it('held, a large allocation after a larger free is still mapped on its own; with glibc adjusting, it comes from an arena', () => {
    // Without the addon (OUTPOST_NATIVE=off or not built) there is nothing to hold with; the
    // first test checks that, and OUTPOST_NATIVE=require fails the file instead.
    if (selected.implementation !== 'native') return;
    assert.equal(mappedChunksForOneMiB(false), 0, "glibc raised its threshold past 1 MiB after the 4 MiB free");
    assert.equal(mappedChunksForOneMiB(true), 1, 'held at 128 KiB, the 1 MiB Buffer is mapped on its own');
  });

  it("holds them unless the operator set one of glibc's malloc variables or tunables", () => {
    const asked: number[] = [];
    const hold = (bytes: number) => {
      asked.push(bytes);
      return true;
    };
    assert.deepEqual(holdMallocThresholds(hold, {}), { state: 'held', mmapThresholdBytes: 128 * 1024 });
    assert.deepEqual(asked, [128 * 1024]);
    for (const variable of ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_']) {
      assert.deepEqual(holdMallocThresholds(hold, { [variable]: '65536' }), { state: 'operator', variable });
    }
    assert.deepEqual(holdMallocThresholds(hold, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1048576' }), { state: 'operator', variable: 'GLIBC_TUNABLES' });
    assert.equal(asked.length, 1, 'never asked to hold over the operator');
    // Other malloc settings do not set a threshold: held as usual.
    assert.equal(holdMallocThresholds(hold, { MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).state, 'held');
    assert.deepEqual(holdMallocThresholds(undefined, {}), { state: 'unavailable' });
    assert.deepEqual(holdMallocThresholds(() => false, {}), { state: 'unavailable' });
    assert.equal(describeMallocThresholds({ state: 'held', mmapThresholdBytes: 131072 }), 'held (mmap threshold 131072 bytes)');
    assert.equal(describeMallocThresholds({ state: 'operator', variable: 'MALLOC_TOP_PAD_' }), 'set by the operator (MALLOC_TOP_PAD_)');
  });
});
