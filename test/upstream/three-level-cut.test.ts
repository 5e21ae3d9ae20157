/**
 * Three Outposts, the link between the parent gateway and the root cut for 150 s — past the
 * reconnect backoff's 60 s ceiling — while a device behind the child keeps sending: the messages
 * queue, and once the link is back they drain without any restart, the first reaching the root
 * within 2 s. Its own file: it runs for about three minutes, so scripts/run-tests.js gives this
 * file (only) a longer timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { LinkCutter } from './relay-harness.js';
import { ThreeHubs } from './three-level-harness.js';

const CUT_MS = 150_000;
const BACKOFF_CEILING_MS = 60_000;
const DRAIN_START_LIMIT_MS = 2_000;

describe('three Outposts: the parent-root link cut for minutes', () => {
  it('queues while cut, then drains without a restart, the first message at the root within 2 s of the link coming back', async (t) => {
    const dir = tempDir('outpost-three-cut-');
    const hubs = new ThreeHubs(dir.path);
    let proxy: LinkCutter | undefined;
    t.after(async () => {
      await proxy?.cut();
      await hubs.close();
      dir.remove();
    });
    hubs.registerDevice('dev1');
    const root = await hubs.startRoot();
    await hubs.connectSink();
    proxy = new LinkCutter(root.amqpPort);
    const parent = await hubs.startParent(0, await proxy.start());
    await parent.outpost.waitFor((line) => line.event === 'upstream.connected');
    await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    const publish = (seq: number) => device.publishAsync('devices/dev1/messages/events/', JSON.stringify({ seq, source: 'dev1' }), { qos: 1 });
    const before = 20;
    for (let seq = 0; seq < before; seq++) await publish(seq);
    await hubs.waitForAll('dev1', before);

    await proxy.cut();
    const cutAtMs = Date.now();
    const count = 200;
    // Sent through the cut: the child takes them (PUBACK) and forwards them to the parent, whose store holds them.
    for (let seq = before; seq < count; seq++) await publish(seq);
    // The parent's backoff reaches its ceiling (1, 2, 4 … 32 s, then 60 s) while cut.
    await parent.outpost.waitFor((line) => line.event === 'upstream.connect_failed' && Number(line.retryInMs) >= BACKOFF_CEILING_MS, CUT_MS + 30_000);
    const arrivedDuringCut = hubs.received.filter((r) => r.seq >= before).length;
    assert.equal(arrivedDuringCut, 0, 'nothing reaches the root while the link is cut');
    const remaining = CUT_MS - (Date.now() - cutAtMs);
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));

    const restoredAtMs = Date.now();
    await proxy.restore();
    t.diagnostic(`link cut for ${restoredAtMs - cutAtMs} ms`);
    await hubs.waitForAll('dev1', count, 60_000);
    const firstAtMs = Math.min(...hubs.received.filter((r) => r.seq >= before).map((r) => r.atMs));
    t.diagnostic(`first queued message at the root ${firstAtMs - restoredAtMs} ms after the link came back`);
    assert.ok(firstAtMs - restoredAtMs < DRAIN_START_LIMIT_MS, `draining started ${firstAtMs - restoredAtMs} ms after the link was back`);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
    // No restart: the parent is the same process, reconnected by itself.
    assert.equal(parent.outpost.lines.filter((line) => line.event === 'hub.ready').length, 1);
    assert.ok(parent.outpost.lines.some((line) => line.event === 'upstream.disconnected'));
  });
});
