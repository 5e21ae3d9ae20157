/**
 * MessageStore.deliveryState, the diagnostic the crash test prints when delivery stops: with the
 * endpoint holding every outcome, it shows the full window, which entries are in flight and which
 * wait, and that nothing is being read; once outcomes come back, the window and the queue drain.
 * The `$upstream` endpoint's window is upstream.deliveryWindow (upstreamWindow), the others'
 * store.deliveryWindow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { basicRoutes, INPUT_A, message, openStore, RecordingTarget } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };

describe('store delivery state', () => {
  it('shows a full window waiting for outcomes, then the drained queue', async () => {
    const dir = tempDir('outpost-delivery-state-');
    const store = await openStore('memory', dir.path, basicRoutes(), { deliveryWindow: 8, shards: 2 });
    try {
      const target = new RecordingTarget();
      target.manual = () => true;
      store.attach(target);
      await Promise.all(Array.from({ length: 20 }, (_, n) => store.submit(message(sensor, n))));
      await target.until(() => target.unsettled.size === 8, 10_000, 'a full window');
      const [state] = store.deliveryState().filter((d) => d.endpoint === INPUT_A);
      assert.ok(state !== undefined);
      assert.equal(state.inflight, 8);
      assert.equal(state.retrying, false);
      const streams = state.streams.filter((s) => s.tail > 0);
      assert.equal(streams.length, 1, 'one source: one shard holds its queue');
      assert.deepEqual({ ...streams[0]!, shard: 0 }, { shard: 0, queueId: INPUT_A, doneUpTo: 0, loadedUpTo: 20, tail: 20, committedHead: 0, reading: false, loaded: 20, ready: 12, inflight: 8, parked: 0 });
      target.manual = () => false;
      for (const delivery of [...target.unsettled]) delivery.settle('acked');
      await target.until(() => store.metrics.delivered === 20, 10_000, 'every message');
      const drained = store.deliveryState().find((d) => d.endpoint === INPUT_A)!.streams.find((s) => s.tail > 0)!;
      assert.deepEqual([drained.doneUpTo, drained.loaded, drained.inflight], [20, 0, 0]);
    } finally {
      await store.close();
      dir.remove();
    }
  });

  it('gives the $upstream endpoint its own window, the module inputs theirs', async () => {
    const dir = tempDir('outpost-upstream-window-');
    const routes = basicRoutes({ up: 'FROM /messages/modules/sensor/outputs/out INTO $upstream' });
    const store = await openStore('memory', dir.path, routes, { deliveryWindow: 8, upstreamWindow: 24, shards: 1 });
    try {
      const target = new RecordingTarget();
      target.manual = () => true;
      store.attach(target);
      await Promise.all(Array.from({ length: 40 }, (_, n) => store.submit(message(sensor, n))));
      await target.until(() => target.to('$upstream').length === 24 && target.to(INPUT_A).length === 8, 10_000, 'both windows full');
      // Give a wrong window the time to overfill.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const inflight = Object.fromEntries(store.deliveryState().map((d) => [d.endpoint, d.inflight]));
      assert.equal(inflight['$upstream'], 24);
      assert.equal(inflight[INPUT_A], 8);
      assert.equal(target.to('$upstream').length, 24);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
