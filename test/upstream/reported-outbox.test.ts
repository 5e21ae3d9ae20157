/**
 * The relay's outbox of reported patches (src/hub/upstream/reported-outbox.ts): waiting patches
 * fold into one only where the parent ends with the same twin, and patches in flight go back in
 * front, in order, when the link goes. Checked against the twin service's own merge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_UNFOLDED_PATCHES, mergePatch, type TwinProperties } from '../../src/hub/twin/index.js';
import { ReportedOutbox } from '../../src/hub/upstream/reported-outbox.js';

/** What the parent's reported section becomes after the outbox's patches, applied in order. */
function applied(start: TwinProperties, outbox: ReportedOutbox): TwinProperties {
  let twin = start;
  for (let patch = outbox.take(); patch !== undefined; patch = outbox.take()) {
    twin = mergePatch(twin, patch);
    outbox.done(patch);
  }
  return twin;
}

function oneByOne(start: TwinProperties, patches: TwinProperties[]): TwinProperties {
  return patches.reduce((twin, patch) => mergePatch(twin, patch), start);
}

describe('ReportedOutbox', () => {
  it('folds waiting patches into one with the same result, nulls kept', () => {
    const start: TwinProperties = { a: 1, b: { c: 2, d: 3 } };
    const patches: TwinProperties[] = [{ a: 2 }, { b: { c: null } }, { e: 'x' }, { b: { f: 4 } }];
    const outbox = new ReportedOutbox();
    patches.forEach((patch, at) => outbox.add(patch, at + 1));
    const first = outbox.take();
    assert.deepEqual(first, { a: 2, b: { c: null, f: 4 }, e: 'x' });
    assert.equal(outbox.take(), undefined);
    outbox.done(first!);
    assert.ok(outbox.empty);
    assert.deepEqual(mergePatch(start, first!), oneByOne(start, patches));
  });

  it('does not fold a key removed and then set to an object (the object must start empty)', () => {
    const start: TwinProperties = { x: { old: 1 } };
    const patches: TwinProperties[] = [{ x: null }, { x: { fresh: 2 } }];
    const outbox = new ReportedOutbox();
    patches.forEach((patch, at) => outbox.add(patch, at + 1));
    assert.deepEqual(applied(start, outbox), { x: { fresh: 2 } });
    assert.deepEqual(oneByOne(start, patches), { x: { fresh: 2 } });
  });

  it('does not fold a key set to a number and then to an object (the object must start empty too)', () => {
    const start: TwinProperties = { x: { old: 1 } };
    const patches: TwinProperties[] = [{ x: 5 }, { x: { fresh: 2 } }];
    const outbox = new ReportedOutbox();
    patches.forEach((patch, at) => outbox.add(patch, at + 1));
    assert.equal(outbox.size, 2);
    assert.deepEqual(applied(start, outbox), { x: { fresh: 2 } });
  });

  it('sends patches in flight again first, in order, when the link goes', () => {
    const outbox = new ReportedOutbox();
    outbox.add({ n: 1 }, 1);
    const inflight = outbox.take()!;
    outbox.add({ x: null }, 2);
    outbox.add({ x: { y: 1 } }, 3);
    outbox.requeue();
    assert.ok(!outbox.empty);
    assert.deepEqual(applied({ n: 0, x: { old: true } }, outbox), { n: 1, x: { y: 1 } });
    assert.notEqual(inflight, undefined);
    assert.ok(outbox.empty);
  });

  it('stays two patches however often a key is removed and set to an object again', () => {
    const outbox = new ReportedOutbox();
    const patches: TwinProperties[] = [];
    for (let n = 0; n < 10_000; n++) patches.push(n % 2 === 0 ? { x: null, n } : { x: { y: n } });
    patches.forEach((patch, at) => outbox.add(patch, at + 1));
    assert.ok(outbox.size <= 2, `${outbox.size} patches waiting`);
    const start: TwinProperties = { x: { old: true }, keep: 1 };
    assert.deepEqual(applied(start, outbox), oneByOne(start, patches));
  });

  it('gives the same twin as the patches one by one, whatever is taken, answered or sent again in between (seeded random runs)', () => {
    let seed = 20261204;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      // The high bits: an LCG's low bits repeat with a short period.
      return Math.floor((seed / 2 ** 31) * below);
    };
    const keys = ['a', 'b', 'c'];
    const value = (depth: number): TwinProperties[string] => {
      const kind = random(4);
      if (kind === 0) return null;
      if (kind === 1 && depth < 2) return Object.fromEntries(keys.slice(0, 1 + random(3)).map((key) => [key, value(depth + 1)]));
      return random(100);
    };
    for (let run = 0; run < 300; run++) {
      const outbox = new ReportedOutbox();
      const patches: TwinProperties[] = [];
      let parent: TwinProperties = { a: { b: 1 }, c: 2 };
      const start = parent;
      const inflight: TwinProperties[] = [];
      // Half the runs give the section here with each patch, so long runs are rewritten as two.
      const withSection = run % 2 === 0;
      let here = start;
      for (let step = 0; step < 60; step++) {
        const action = random(6);
        if (action <= 2) {
          const patch = Object.fromEntries(keys.slice(random(3)).map((key) => [key, value(0)]));
          patches.push(patch);
          here = mergePatch(here, patch);
          outbox.add(patch, patches.length, withSection ? { section: here } : {});
          if (withSection) assert.ok(outbox.size <= MAX_UNFOLDED_PATCHES + inflight.length, `run ${run}: ${outbox.size} patches`);
        } else if (action === 3) {
          const patch = outbox.take();
          if (patch !== undefined) inflight.push(patch);
        } else if (action === 4 && inflight.length > 0) {
          // The parent answers in order: the oldest in flight is applied there.
          const patch = inflight.shift()!;
          parent = mergePatch(parent, patch);
          outbox.done(patch);
        } else if (action === 5) {
          // The link goes: what was in flight was not applied and is sent again, first.
          inflight.length = 0;
          outbox.requeue();
        }
      }
      for (const patch of inflight) {
        parent = mergePatch(parent, patch);
        outbox.done(patch);
      }
      assert.deepEqual(applied(parent, outbox), oneByOne(start, patches), `run ${run}`);
      assert.ok(outbox.empty);
    }
  });

  it('rewrites keys reset in turn as two patches once there are too many, ending at the section here', () => {
    const outbox = new ReportedOutbox();
    const start: TwinProperties = { k0: { stale: 1 }, k1: { stale: 1 }, k2: 'x', other: 1 };
    let here = start;
    const patches: TwinProperties[] = [];
    for (let n = 1; n <= 3_000; n++) {
      const key = `k${n % 3}`;
      const patch = n % 2 === 0 ? { [key]: null } : { [key]: { fresh: n } };
      patches.push(patch);
      here = mergePatch(here, patch);
      outbox.add(patch, n, { section: here });
      assert.ok(outbox.size <= MAX_UNFOLDED_PATCHES, `${outbox.size} patches after ${n}`);
    }
    assert.deepEqual(applied(start, outbox), oneByOne(start, patches));
    assert.deepEqual(oneByOne(start, patches), here);
  });

  it('tells how far every patch has been answered: not past one still in flight, even when a later one is answered first', () => {
    const outbox = new ReportedOutbox();
    outbox.add({ x: null }, 1);
    outbox.add({ x: { a: 1 } }, 2);
    outbox.add({ y: null }, 3);
    outbox.add({ y: { b: 1 } }, 4);
    const first = outbox.take()!;
    const second = outbox.take()!;
    const third = outbox.take()!;
    assert.deepEqual([first, second, third], [{ x: null }, { x: { a: 1 }, y: null }, { y: { b: 1 } }]);
    assert.equal(outbox.done(second), 0, 'the first patch is still in flight: nothing answered up to it');
    assert.equal(outbox.done(first), 3, 'now the first three versions are');
    assert.equal(outbox.done({ other: 1 }), undefined, 'a patch not in flight');
    assert.equal(outbox.done(third), 4);
    assert.ok(outbox.empty);
  });
});
