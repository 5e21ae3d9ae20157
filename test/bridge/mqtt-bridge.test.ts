/**
 * The MQTT bridge between two real Outposts on loopback (docs/bridge.md): a child's
 * `mqttBroker.bridges` carries user topics up (`out`) and down (`in`) with Azure's prefix
 * rewriting, `both` without looping, through a parent killed (-9) and restarted mid-stream, and
 * past a subscription the parent's policy refuses. Real mqtt.js devices on both sides.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { BridgeHubs, until } from './bridge-hubs.js';

const UPSTREAM = '$upstream';

describe('MQTT bridge to a parent Outpost', () => {
  const site = (t: TestContext, bridges: unknown, childEnv: Record<string, string> = {}) => {
    const hubs = new BridgeHubs(bridges, childEnv);
    t.after(() => hubs.close());
    return hubs;
  };

  it('carries out and in with prefixes, and keeps working past a subscription the parent refuses', async (t) => {
    const hubs = site(t, [
      {
        endpoint: UPSTREAM,
        settings: [
          { direction: 'out', topic: '#', inPrefix: 'local/up/', outPrefix: 'from-child/' },
          { direction: 'in', topic: 'forbidden/#' },
          { direction: 'in', topic: '#', inPrefix: 'to-child/', outPrefix: 'local/down/' },
        ],
      },
    ]);
    await hubs.startParent();
    const parentDevice = await hubs.device('parent');
    await parentDevice.client.subscribeAsync('from-child/#', { qos: 1 });
    const child = await hubs.startChild();
    const refused = await child.outpost.waitFor((line) => line.event === 'bridge.subscribe_refused');
    assert.deepEqual([refused.code, refused.filter, refused.reasonCode], ['OUTPOST_BRIDGE_SUBSCRIBE_REFUSED', 'forbidden/#', 0x87]);
    const childDevice = await hubs.device('child');
    await childDevice.client.subscribeAsync('local/down/#', { qos: 1 });
    // out: local/up/… on the child arrives as from-child/… on the parent.
    await childDevice.client.publishAsync('local/up/line1/temp', '21.5', { qos: 1 });
    await childDevice.client.publishAsync('not-bridged/x', 'stays', { qos: 1 });
    await until('from-child/line1/temp at the parent', () => parentDevice.received.length >= 1);
    assert.deepEqual(parentDevice.received, [{ topic: 'from-child/line1/temp', payload: '21.5' }]);
    // in: to-child/… on the parent arrives as local/down/… on the child (the refused rule aside).
    await parentDevice.client.publishAsync('to-child/valve/3', 'open', { qos: 1 });
    await parentDevice.client.publishAsync('forbidden/x', 'never', { qos: 1 });
    await until('local/down/valve/3 at the child', () => childDevice.received.length >= 1);
    assert.deepEqual(childDevice.received, [{ topic: 'local/down/valve/3', payload: 'open' }]);
    // Still both ways after the refusal, in order.
    for (let i = 0; i < 20; i++) await childDevice.client.publishAsync(`local/up/seq/${i}`, String(i), { qos: 1 });
    await until('20 more at the parent', () => parentDevice.received.length >= 21);
    assert.deepEqual(parentDevice.received.slice(1).map((r) => r.payload), Array.from({ length: 20 }, (_, i) => String(i)));
    assert.ok(!parentDevice.received.some((r) => r.topic.includes('not-bridged')));
  });

  it('carries both directions on the same topics without looping', async (t) => {
    const hubs = site(t, [{ endpoint: UPSTREAM, settings: [{ direction: 'both', topic: 'shared/#' }] }]);
    await hubs.startParent();
    const parentDevice = await hubs.device('parent');
    await parentDevice.client.subscribeAsync('shared/#', { qos: 1 });
    const child = await hubs.startChild();
    await child.outpost.waitFor((line) => line.event === 'bridge.connected');
    const childDevice = await hubs.device('child');
    await childDevice.client.subscribeAsync('shared/#', { qos: 1 });
    // The bridge's subscription on the parent is in place once a message from the parent crosses.
    const deadline = Date.now() + 30_000;
    while (!childDevice.received.some((r) => r.topic === 'shared/probe')) {
      assert.ok(Date.now() < deadline, 'the in direction never worked');
      await parentDevice.client.publishAsync('shared/probe', 'probe', { qos: 1 });
      await until('a probe', () => childDevice.received.some((r) => r.topic === 'shared/probe'), 1_000).catch(() => undefined);
    }
    childDevice.received.length = 0;
    parentDevice.received.length = 0;
    await childDevice.client.publishAsync('shared/from-child', 'c', { qos: 1 });
    await parentDevice.client.publishAsync('shared/from-parent', 'p', { qos: 1 });
    // Markers sent after, both ways: when they are through, any echo would have been too.
    await until('both sides got both', () => childDevice.received.some((r) => r.topic === 'shared/from-parent') && parentDevice.received.some((r) => r.topic === 'shared/from-child'));
    await childDevice.client.publishAsync('shared/end-child', 'e', { qos: 1 });
    await parentDevice.client.publishAsync('shared/end-parent', 'e', { qos: 1 });
    await until('the markers', () => childDevice.received.some((r) => r.topic === 'shared/end-parent') && parentDevice.received.some((r) => r.topic === 'shared/end-child'));
    await until('the markers back on their own side', () => childDevice.received.some((r) => r.topic === 'shared/end-child') && parentDevice.received.some((r) => r.topic === 'shared/end-parent'));
    const count = (received: { topic: string }[], topic: string) => received.filter((r) => r.topic === topic).length;
    // Each device gets its own message once (as a subscriber) and the other side's once: nothing came back.
    for (const received of [childDevice.received, parentDevice.received]) {
      assert.equal(count(received, 'shared/from-child'), 1);
      assert.equal(count(received, 'shared/from-parent'), 1);
      assert.equal(count(received, 'shared/end-child'), 1);
      assert.equal(count(received, 'shared/end-parent'), 1);
    }
  });
});
