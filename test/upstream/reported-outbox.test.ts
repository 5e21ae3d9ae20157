/**
 * The relay's outbox of reported patches (src/hub/upstream/reported-outbox.ts): waiting patches
 * fold into one only where the parent ends with the same twin, and patches in flight go back in
 * front, in order, when the link goes. Checked against the twin service's own merge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergePatch, type TwinProperties } from '../../src/hub/twin/index.js';
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
    for (const patch of patches) outbox.add(patch);
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
    for (const patch of patches) outbox.add(patch);
    assert.deepEqual(applied(start, outbox), { x: { fresh: 2 } });
    assert.deepEqual(oneByOne(start, patches), { x: { fresh: 2 } });
  });

  it('sends patches in flight again first, in order, when the link goes', () => {
    const outbox = new ReportedOutbox();
    outbox.add({ n: 1 });
    const inflight = outbox.take()!;
    outbox.add({ x: null });
    outbox.add({ x: { y: 1 } });
    outbox.requeue();
    assert.ok(!outbox.empty);
    assert.deepEqual(applied({ n: 0, x: { old: true } }, outbox), { n: 1, x: { y: 1 } });
    assert.notEqual(inflight, undefined);
    assert.ok(outbox.empty);
  });
});
