/**
 * EndpointStream's read-ahead: when the next page is asked for. Once fewer than a whole read-ahead
 * wait to be sent (not half of it: in an upstream drain the half lasted about 23 ms and a page
 * took longer, so the window stood a third empty), and never past the durable queue's tail.
 * Read-back entries hold their stored bytes and are decoded when sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointStream, EntryState } from '../../src/hub/store/endpoint-stream.js';
import { encodeMessage } from '../../src/hub/store/message-codec.js';
import { message, numberOf } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };
const stored = (n: number) => ({ expiresAtMs: Number.MAX_SAFE_INTEGER, cum: n, bytes: encodeMessage(message(sensor, n)) });

describe('EndpointStream read-ahead', () => {
  it('asks for the next page as soon as fewer than a read-ahead wait, while the queue has more', () => {
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 10, cumHead: 0 }, 4);
    assert.equal(stream.needsRead(), true, 'nothing loaded');
    stream.reading = true;
    stream.loadPage(0, [0, 1, 2, 3].map(stored));
    assert.equal(stream.needsRead(), false, 'a whole read-ahead waits');
    const first = stream.next()!;
    const decoded = first.decode();
    assert.ok(!(decoded instanceof RangeError));
    assert.equal(numberOf(decoded), 0, 'the stored bytes decode to the message');
    first.state = EntryState.Inflight;
    stream.next();
    assert.equal(stream.needsRead(), true, 'three of four wait: the next page (at half, this waited for two)');
  });

  it('asks for nothing past the tail', () => {
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 2, cumHead: 0 }, 4);
    stream.loadPage(0, [0, 1].map(stored));
    assert.equal(stream.needsRead(), false);
  });
});

describe('EndpointStream parking (held sources)', () => {
  it('takes a held source\'s entries out of a full window, holds the checkpoint at the oldest, and reads them back in order', () => {
    // Entries 0..7 of 16 loaded, read-ahead 8; entries 0, 2, 4, 6 are the held source's.
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 16, cumHead: 0 }, 8);
    stream.loadPage(0, [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ ...stored(n), cum: (n + 1) * 10 })));
    const held = (n: number) => n % 2 === 0;
    const source = (entry: { decode(keep?: boolean): unknown }) => {
      const decoded = entry.decode(true);
      return !(decoded instanceof RangeError) && held(numberOf(decoded as never)) ? 'held' : undefined;
    };
    // The others' entries went and were acknowledged; the held ones wait: the window is full.
    for (const n of [1, 3, 5, 7]) {
      const found = stream.nextFrom(0, (entry) => source(entry) !== undefined)!;
      assert.equal(found.entry.seq, n);
      found.entry.state = EntryState.Inflight;
      stream.markDone(found.entry);
    }
    assert.equal(stream.windowFull(), true);
    assert.equal(stream.takeCommit(), undefined, 'entry 0 is not done: no checkpoint yet');
    assert.equal(stream.parkHeld(source, 100), 4);
    assert.equal(stream.parkedTotal, 4);
    assert.equal(stream.doneUpTo, 8, 'the window moved past them');
    assert.equal(stream.needsRead(), true, 'and can load the rest of the queue');
    assert.equal(stream.takeCommit(), undefined, 'the checkpoint stays before entry 0, the oldest parked');
    assert.equal(stream.hasParked('held'), true);

    // Read back from 0: its entries, in order, each done in turn moves the checkpoint to the next.
    assert.equal(stream.reviveFrom('held'), 0);
    stream.reviving = true;
    assert.equal(stream.revivePage('held', 0, 0, [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ ...stored(n), cum: (n + 1) * 10 }))), 0);
    assert.equal(stream.reviving, false);
    const order: number[] = [];
    for (let entry = stream.nextRevived(() => false); entry !== undefined; entry = stream.nextRevived(() => false)) {
      order.push(entry.seq);
      entry.state = EntryState.Inflight;
      assert.equal(stream.markDone(entry), true);
      const commit = stream.takeCommit();
      const next = order.length < 4 ? order.length * 2 : 8;
      // Before entry n, the queue's cumulative bytes are those of entry n - 1.
      assert.deepEqual(commit, { queueId: 'q', head: next, cumHead: next * 10 }, `after ${entry.seq}`);
    }
    assert.deepEqual(order, [0, 2, 4, 6]);
    assert.equal(stream.parkedTotal, 0);
    assert.equal(stream.hasParked('held'), false);
  });

  it('forgets parked entries the shard removed (expired): below a head advance, or before the page read back', () => {
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 12, cumHead: 0 }, 4);
    stream.loadPage(0, [0, 1, 2, 3].map(stored));
    assert.equal(stream.parkHeld(() => 'held', 100), 4);
    stream.loadPage(4, [4, 5, 6, 7].map(stored));
    assert.equal(stream.parkHeld(() => 'held', 100), 4);
    assert.equal(stream.parkedBelow(2), 2);
    assert.equal(stream.advanceHead(2, 2), 0);
    assert.equal(stream.parkedTotal, 6);
    assert.equal(stream.revivePage('held', 3, 5, [5, 6, 7].map(stored)), 0, 'asked for from 3, the next to read back is 2: ignored');
    assert.equal(stream.parkedTotal, 6);
    assert.equal(stream.revivePage('held', 2, 5, [5, 6, 7].map(stored)), 3, 'entries 2, 3 and 4 are gone');
    assert.equal(stream.parkedTotal, 3);
    assert.deepEqual([stream.nextRevived(() => false)?.seq], [5]);
    assert.equal(stream.nextRevived((s) => s === 'held'), undefined, 'a held source\'s are not sent');
    // Sent, lost (rewound), sent again: the same entry comes first again.
    const five = stream.nextRevived(() => false)!;
    five.state = EntryState.Inflight;
    assert.equal(stream.nextRevived(() => false)?.seq, 6);
    stream.rewind(five);
    assert.equal(stream.nextRevived(() => false)?.seq, 5);
    // An empty page: nothing from there on is in the store, the rest of what was parked is gone.
    stream.loadPage(8, [8, 9, 10, 11].map(stored));
    assert.equal(stream.parkHeld(() => 'later', 100), 4);
    assert.equal(stream.revivePage('later', 8, 8, []), 4);
    assert.equal(stream.hasParked('later'), false);
  });

  it('keeps a source\'s parked entries in order when one in flight comes back (lost) after its later ones were parked', () => {
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 12, cumHead: 0 }, 8);
    stream.loadPage(0, [0, 1, 2, 3, 4, 5, 6, 7].map(stored));
    const zero = stream.next()!;
    zero.state = EntryState.Inflight;
    assert.equal(stream.parkHeld(() => 'held', 100), 7, 'entries 1-7; 0 is in flight');
    stream.rewind(zero);
    assert.equal(stream.parkHeld(() => 'held', 100), 1);
    assert.equal(stream.reviveFrom('held'), 0, 'read back from 0, the oldest');
    stream.revivePage('held', 0, 0, [0, 1, 2, 3, 4, 5, 6, 7].map(stored));
    const order: number[] = [];
    for (let entry = stream.nextRevived(() => false); entry !== undefined; entry = stream.nextRevived(() => false)) {
      order.push(entry.seq);
      entry.state = EntryState.Inflight;
      stream.markDone(entry);
    }
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(stream.takeCommit(), { queueId: 'q', head: 8, cumHead: 7 });
  });
});
