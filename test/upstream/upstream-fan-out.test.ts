/**
 * `$upstream` per identity (docs/upstream.md, "How it sends"): an identity whose token the parent
 * refuses waits on its own; the store goes on delivering the other identities' messages, and the
 * refused one's arrive, in order, once the parent accepts it. Both identities are in one store
 * shard (store.shards=1), so their messages share one queue: the refused one's are at its head,
 * more of them than the delivery window (8) holds — and more than the store keeps loaded (its
 * read-ahead, 2,048 entries), so they are parked out of the window (src/hub/store/endpoint-stream.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { TwoHubs } from './upstream-harness.js';

describe('upstream fan-out: identities are independent', () => {
  it('delivers another identity\'s messages while one is refused by the parent, then the refused one\'s in order once allowed', async (t) => {
    const dir = tempDir('outpost-upstream-fanout-');
    const hubs = new TwoHubs(dir.path, { OUTPOST_STORE__SHARDS: '1', OUTPOST_STORE__DELIVERY_WINDOW: '8', OUTPOST_UPSTREAM__RECONNECT_MAX: '2s' });
    t.after(async () => {
      await hubs.close();
      dir.remove();
    });
    // dev1 is not (yet) known to the parent: its token is refused. dev2 is.
    hubs.addChildIdentity('dev1', undefined, false);
    hubs.addChildIdentity('dev2');
    await hubs.startParent();
    await hubs.connectSink();
    const child = await hubs.startChild();
    await child.outpost.waitFor((line) => line.event === 'upstream.connected');
    const refusedDevice = await hubs.connectToChild('dev1');
    const otherDevice = await hubs.connectToChild('dev2');
    const count = 40;
    const refusedCount = 4_500;
    // dev1's messages first: they are at the head of the one queue.
    for (let seq = 0; seq < refusedCount; seq += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => TwoHubs.publish(refusedDevice, 'devices/dev1/messages/events/', 'dev1', seq + i)));
    }
    await child.outpost.waitFor((line) => line.event === 'upstream.token_refused' && line.identity === 'dev1');
    for (let seq = 0; seq < count; seq++) await TwoHubs.publish(otherDevice, 'devices/dev2/messages/events/', 'dev2', seq);
    await hubs.waitForAll('dev2', count, 60_000);
    assert.deepEqual(hubs.firstArrivals('dev2'), [...Array(count).keys()]);
    assert.equal(hubs.firstArrivals('dev1').length, 0, 'nothing of the refused identity arrived');
    // Still refused meanwhile: dev2 did not wait for dev1's retries to succeed.
    assert.ok(child.outpost.lines.some((line) => line.event === 'upstream.token_refused' && line.identity === 'dev1'));
    hubs.copyToParent('dev1');
    await hubs.waitForAll('dev1', refusedCount, 60_000);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(refusedCount).keys()]);
    for (const item of hubs.received) assert.equal(item.cdid, item.source);
  });
});
