/**
 * PacketIdSlots: the in-flight table of sessions and of the MQTT connection's hub-core deliveries.
 * Ids in their range, never two in flight at once, not reused right after release, the order of
 * first sending kept for resends; and the reason it exists: a queue-like table that a full
 * collection under load does not turn into a promotion chain (a child process with --expose-gc,
 * the same churn through a Map for contrast).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PacketIdSlots } from '../../../src/hub/broker/index.js';

describe('PacketIdSlots', () => {
  it('allocates distinct ids inside its range, in turn, and takes them back', () => {
    const slots = new PacketIdSlots<string>(100, 131);
    const ids = ['a', 'b', 'c'].map((value) => slots.add(value));
    assert.deepEqual(ids, [100, 101, 102]);
    assert.equal(slots.size, 3);
    assert.equal(slots.get(101), 'b');
    assert.equal(slots.take(101), 'b');
    assert.equal(slots.take(101), undefined, 'taken once');
    assert.equal(slots.get(99), undefined);
    assert.equal(slots.get(5000), undefined);
    assert.equal(slots.add('d'), 103, 'the next id in turn, not the one just released');
    assert.equal(slots.size, 3);
  });

  it('never hands out an id still in flight, across wraps of its cycle, and refuses when the range is full', () => {
    const slots = new PacketIdSlots<number>(1, 64);
    const live = new Map<number, number>();
    let next = 0;
    // Out-of-order releases: every third message stays in flight for a while.
    for (let i = 0; i < 5000; i++) {
      const id = slots.add(next);
      assert.ok(id >= 1 && id <= 64, `id ${id} in range`);
      assert.equal(live.has(id), false, `id ${id} was still in flight`);
      live.set(id, next++);
      if (live.size > 40 || i % 3 !== 0) {
        const [oldest] = live.keys();
        assert.equal(slots.take(oldest!), live.get(oldest!));
        live.delete(oldest!);
      }
    }
    assert.equal(slots.size, live.size);
    while (slots.size < 64) slots.add(-1);
    assert.throws(() => slots.add(-2), RangeError);
  });

  it('lists what is in flight in the order it was added, whatever the ids', () => {
    const slots = new PacketIdSlots<string>(1, 16);
    const added: string[] = [];
    for (let i = 0; i < 40; i++) {
      slots.add(`m${i}`);
      added.push(`m${i}`);
      // Keep m3 and m7 in flight while the ids wrap around them.
      const ids = slots.ids();
      for (const id of ids) if (slots.size > 6 && slots.get(id) !== 'm3' && slots.get(id) !== 'm7') {
        added.splice(added.indexOf(slots.take(id)!), 1);
        break;
      }
    }
    assert.deepEqual(slots.valuesInOrder(), added);
    assert.ok(slots.ids().indexOf(slots.ids().find((id) => slots.get(id) === 'm3')!) === 0, 'the oldest first');
  });

  it('keeps the order of first sending when its counter starts again', () => {
    const slots = new PacketIdSlots<string>(1, 16, 8);
    const live: string[] = [];
    for (let i = 0; i < 30; i++) {
      slots.add(`m${i}`);
      live.push(`m${i}`);
      // m0 stays in flight throughout; the others leave oldest first once four are in flight.
      if (live.length > 4) {
        const oldest = slots.ids().find((id) => slots.get(id) !== 'm0')!;
        live.splice(live.indexOf(slots.take(oldest)!), 1);
      }
    }
    assert.deepEqual(slots.valuesInOrder(), live);
    assert.equal(live[0], 'm0');
  });

  it('keeps its arrays small for a client with few messages in flight', () => {
    const slots = new PacketIdSlots<number>(1, 0x7fff);
    for (let i = 0; i < 10_000; i++) slots.take(slots.add(i));
    const ids = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const id = slots.add(i);
      ids.add(id);
      slots.take(id);
    }
    assert.ok(Math.max(...ids) <= 16, `ids cycle through 16 (highest ${Math.max(...ids)})`);
  });

  it('does not keep promoting after a full collection under queue-like churn (a Map does)', () => {
    const script = fileURLToPath(new URL('./promotion-churn.js', import.meta.url));
    const run = (table: 'slots' | 'map') => {
      const child = spawnSync(process.execPath, ['--expose-gc', script, table], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as { majorAfter: number; promotedAfterMiB: number };
    };
    const map = run('map');
    const slots = run('slots');
    // The contrast shows the measurement works on this V8: a Map-based table keeps promoting.
    assert.ok(map.majorAfter >= 3, `a Map under the same churn: ${JSON.stringify(map)}`);
    assert.ok(slots.majorAfter <= 1, `PacketIdSlots: ${JSON.stringify(slots)}`);
  });
});
