// YoungGenerationCap holds the main thread's semi-space at the memory plan's size from inside the
// running process, through V8's growth factor (src/hub/young-generation-cap.ts). Each case runs in
// a child process of its own: the flag is the process's, and the young generation's size is V8's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { growthFactorAfter, MESSAGES_TO_GROW, nodeFlagSet, semiSpaceSetOnCommandLine, UNGATED_SEMI_SPACE_BYTES } from '../../src/hub/young-generation-cap.js';
import { ADDON_PATH } from '../../src/native/index.js';
import { selected } from './implementations.js';

const MIB = 1024 * 1024;
const MODULE = new URL('../../src/hub/young-generation-cap.js', import.meta.url).href;

/**
 * A hub-like load in a child: work in event-loop turns (4,000 objects each, one in five kept for a
 * while, as in-flight messages are), the largest semi-space seen after each turn. The launcher's
 * start (bin/outpost.js) is reproduced: no growth until the plan is known.
 */
function largestSemiSpace(capMb: number | undefined, workerAtTurn?: number, options: { workers?: number; native?: boolean; messagesPerTurn?: number } = {}): number {
  const script = `
    import { setFlagsFromString } from 'node:v8';
    import { Worker } from 'node:worker_threads';
    import { createRequire } from 'node:module';
    const workers = [];
    setFlagsFromString('--semi-space-growth-factor=1');
    const { YoungGenerationCap } = await import(${JSON.stringify(MODULE)});
    const hold = ${options.native === true ? `createRequire(import.meta.url)(${JSON.stringify(ADDON_PATH)}).holdSemiSpaceGrowthFactor` : 'undefined'};
    const capMb = ${capMb === undefined ? 'undefined' : String(capMb)};
    const cap = capMb === undefined ? undefined : new YoungGenerationCap(capMb * ${MIB}, hold);
    if (cap === undefined) setFlagsFromString('--semi-space-growth-factor=2');
    const messagesPerTurn = ${options.messagesPerTurn === undefined ? 'undefined' : String(options.messagesPerTurn)};
    let handled = 0;
    if (messagesPerTurn !== undefined) cap.countMessagesWith(() => handled);
    let keep = [];
    let largest = 0;
    let turns = 0;
    const turn = () => {
      for (let i = 0; i < 4000; i += 1) {
        const o = { a: i, b: [i, i + 1], c: 'x' + (i % 1000) };
        if (i % 5 === 0) keep.push(o);
        if (keep.length > 40000) keep = [];
      }
      if (messagesPerTurn !== undefined) handled += messagesPerTurn;
      largest = Math.max(largest, YoungGenerationCap.semiSpaceBytes());
      if (turns === ${workerAtTurn ?? -1}) {
        for (let w = 0; w < ${options.workers ?? 1}; w += 1) workers.push(new Worker('setTimeout(() => {}, 60000)', { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 } }));
      }
      if (++turns < 1500) setImmediate(turn);
      else {
        for (const worker of workers) void worker.terminate();
        cap?.stop();
        process.stdout.write(JSON.stringify({ largest }));
      }
    };
    turn();
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  return (JSON.parse(child.stdout) as { largest: number }).largest;
}

describe('young generation cap', () => {
  it('lets the semi-space grow to the cap and no further, where V8 alone grows it to 16 MiB', () => {
    const alone = largestSemiSpace(undefined);
    assert.equal(alone, 16 * MIB, `without the cap V8 grew the semi-space to ${alone / MIB} MiB`);
    for (const capMb of [4, 8]) {
      const capped = largestSemiSpace(capMb);
      assert.equal(capped, capMb * MIB, `with a ${capMb} MiB cap the semi-space reached ${capped / MIB} MiB`);
    }
  });

  it('with a message count, grows past 2 MiB only while messages come: a load of long-lived state alone (a connection storm) stays at 2 MiB', () => {
    // The same load, counted as 0 messages (connection state only) and as 20 per turn (about 100
    // between two collections, as a routed load at 1 MiB brings 250-350).
    assert.equal(largestSemiSpace(8, undefined, { messagesPerTurn: 0 }), UNGATED_SEMI_SPACE_BYTES);
    assert.equal(largestSemiSpace(8, undefined, { messagesPerTurn: 20 }), 8 * MIB);
  });

  it('the growth factor: to the target in one step, none at the target, none past 2 MiB without messages', () => {
    assert.equal(UNGATED_SEMI_SPACE_BYTES, 2 * MIB);
    assert.equal(growthFactorAfter(MIB, 8 * MIB, undefined), 8);
    assert.equal(growthFactorAfter(MIB, 8 * MIB, MESSAGES_TO_GROW), 8);
    assert.equal(growthFactorAfter(MIB, 8 * MIB, MESSAGES_TO_GROW - 1), 2);
    assert.equal(growthFactorAfter(MIB, 8 * MIB, 0), 2);
    assert.equal(growthFactorAfter(2 * MIB, 8 * MIB, 0), 1);
    assert.equal(growthFactorAfter(2 * MIB, 8 * MIB, MESSAGES_TO_GROW), 4);
    assert.equal(growthFactorAfter(MIB, MIB, 0), 1, 'a 1 MiB target (a small budget) is not passed');
    assert.equal(growthFactorAfter(4 * MIB, 8 * MIB, 1_000), 2);
    assert.equal(growthFactorAfter(2 * MIB, 3 * MIB, 1_000), 2, "at least V8's own factor");
    assert.equal(growthFactorAfter(8 * MIB, 8 * MIB, 1_000), 1);
    assert.equal(growthFactorAfter(16 * MIB, 8 * MIB, undefined), 1);
  });

  it('with the addon, holds the cap when worker threads start under load (V8 resets the growth factor for every new isolate)', () => {
    // A store shard starts its thread with its first message, while the hub is busy; two start in
    // the same turn when one burst reaches both. The addon sets the factor again before every
    // collection. Without it (JavaScript alone, after the collection) one case in four still grew
    // to 8 MiB here: a collection between an isolate's making and the reassertion.
    if (selected.implementation !== 'native') return;
    for (const [turn, workers] of [[300, 1], [300, 2], [500, 2], [700, 2]] as const) {
      const capped = largestSemiSpace(4, turn, { workers, native: true });
      assert.equal(capped, 4 * MIB, `${workers} worker(s) started at turn ${turn}: the semi-space reached ${capped / MIB} MiB`);
    }
  });

  it("leaves the operator's own --max-semi-space-size alone, from the command line or NODE_OPTIONS", () => {
    assert.equal(semiSpaceSetOnCommandLine([], undefined), false);
    assert.equal(semiSpaceSetOnCommandLine(['--max-old-space-size=99'], '--enable-source-maps'), false);
    assert.equal(semiSpaceSetOnCommandLine(['--max-semi-space-size=4'], undefined), true);
    assert.equal(semiSpaceSetOnCommandLine([], '--max-old-space-size=99 --max_semi_space_size=2'), true);
    // The same reading for the old space's growth (src/hub/memory-plan-log.ts).
    assert.equal(nodeFlagSet('heap-growing-percent', [], '--heap_growing_percent=30'), true);
    assert.equal(nodeFlagSet('heap-growing-percent', ['--heap-growing-percent=30'], undefined), true);
    assert.equal(nodeFlagSet('heap-growing-percent', ['--max-old-space-size=99'], '--heap-growing'), false);
  });
});
