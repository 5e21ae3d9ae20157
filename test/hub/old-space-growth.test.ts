// The main thread's old-space growth: held at 50 % while full collections are rare, 200 % while
// they come in quick succession, held again once they are rare (src/hub/old-space-growth.ts). The
// policy is checked as a pure function; the whole of it in child processes, with V8's flag really
// set (it is the process's) and a load that promotes as in-flight messages do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  afterMajorCollection,
  HOLD_AFTER_QUIET_MS,
  INITIAL_TRACK,
  RELAX_AFTER_COLLECTIONS,
  RELAX_INTERVAL_MS,
  type GrowthTrack,
} from '../../src/hub/old-space-growth.js';

const MODULE = new URL('../../src/hub/old-space-growth.js', import.meta.url).href;
const LOG_MODULE = new URL('../../src/log/index.js', import.meta.url).href;

/** The track after full collections at these times. */
function collections(times: readonly number[], track: GrowthTrack = INITIAL_TRACK): GrowthTrack {
  return times.reduce((t, at) => afterMajorCollection(t, at), track);
}

describe('old-space growth policy', () => {
  it(`stays held while full collections come ${RELAX_INTERVAL_MS} ms or more apart, however many (the SAS storm's come 620-1,200 ms apart)`, () => {
    const times = Array.from({ length: 50 }, (_, i) => i * RELAX_INTERVAL_MS);
    assert.equal(collections(times).state, 'held');
  });

  it(`relaxes at the ${RELAX_AFTER_COLLECTIONS}th full collection in a row that came less than ${RELAX_INTERVAL_MS} ms after the one before, and not at the one before it`, () => {
    const close = Array.from({ length: RELAX_AFTER_COLLECTIONS }, (_, i) => 10_000 + (i + 1) * 150);
    const start = collections([10_000]);
    assert.equal(collections(close.slice(0, -1), start).state, 'held');
    assert.equal(collections(close, start).state, 'relaxed');
  });

  it('counts only an unbroken run of close collections', () => {
    const track = collections([180, 980, 1_300, 1_600, 1_900, 3_000, 3_300, 3_600, 3_900]);
    assert.equal(track.state, 'held', 'the gap from 1,900 to 3,000 ms broke the run');
    assert.equal(track.closeInRow, 3);
  });

  it(`stays relaxed while collections keep coming, and holds again at one ${HOLD_AFTER_QUIET_MS / 1000} s or more after the one before`, () => {
    const relaxed = collections(Array.from({ length: 6 }, (_, i) => i * 100));
    assert.equal(relaxed.state, 'relaxed');
    const busy = collections([2_000, 9_000, 20_000, 40_000], relaxed);
    assert.equal(busy.state, 'relaxed', 'gaps of 20 s or less keep it relaxed');
    const quiet = afterMajorCollection(busy, 40_000 + HOLD_AFTER_QUIET_MS);
    assert.equal(quiet.state, 'held');
    assert.equal(quiet.closeInRow, 0, 'a fresh run is needed to relax again');
  });
});

/**
 * A load that promotes, in a child process of its own: a rolling window of 300,000 small objects,
 * each living through many scavenges, so that it is promoted and dies in the old space (as an
 * in-flight message does under a long queue). With `policy`, OldSpaceGrowth runs (quiet spell
 * shortened to 1.5 s), and after the load a quiet spell ends with a full collection; without it,
 * the growth stays at the 50 % node is started with (both are). Full collections are counted once the
 * window is full (the ramp to the live set is left out).
 */
function promotingLoad(policy: boolean): { steadyMajors: number; growth: number[]; state: string | undefined } {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    const { OldSpaceGrowth } = await import(${JSON.stringify(MODULE)});
    const { createLogger } = await import(${JSON.stringify(LOG_MODULE)});
    const lines = [];
    const logger = createLogger({ level: 'info', destination: { write: (line) => lines.push(JSON.parse(line)) } });
    const growth = ${String(policy)} ? new OldSpaceGrowth(logger, { holdAfterQuietMs: 1500 }) : undefined;
    const WINDOW = 300000;
    const TOTAL = 24000000;
    let allocated = 0;
    let steadyMajors = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && allocated >= WINDOW && allocated < TOTAL) steadyMajors += 1;
    }).observe({ entryTypes: ['gc'] });
    const live = new Array(WINDOW);
    const turn = () => {
      for (let k = 0; k < 20000; k += 1) {
        live[allocated % WINDOW] = { n: allocated, pair: [allocated, k], tag: 'm' + (allocated % 977) };
        allocated += 1;
      }
      if (allocated < TOTAL) setImmediate(turn);
      else setTimeout(quiet, 1700);
    };
    const quiet = () => {
      live.fill(undefined);
      globalThis.gc();
      setTimeout(() => {
        const state = growth?.state;
        growth?.stop();
        process.stdout.write(JSON.stringify({ steadyMajors, growth: lines.filter((l) => l.event === 'memory.old_space_growth').map((l) => l.growthPercent), state }));
      }, 100);
    };
    turn();
  `;
  // Both start held at 50 % (so a policy that set nothing would measure as the held growth).
  const child = spawnSync(process.execPath, ['--expose-gc', '--heap-growing-percent=50', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { steadyMajors: number; growth: number[]; state: string | undefined };
}

describe('old-space growth in a process', () => {
  it('relaxes under a load that promotes, with less than half the full collections of the held growth, and holds again after a quiet spell', () => {
    const held = promotingLoad(false);
    const policy = promotingLoad(true);
    assert.deepEqual(policy.growth, [200, 50], 'the growth relaxed once and was held again');
    assert.equal(policy.state, 'held');
    assert.ok(held.steadyMajors >= 10, `the held growth made ${held.steadyMajors} full collections under the load`);
    assert.ok(policy.steadyMajors < held.steadyMajors / 2, `full collections under the load: ${held.steadyMajors} held, ${policy.steadyMajors} with the policy`);
  });
});
