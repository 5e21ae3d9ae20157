/**
 * The MQTT bridge through a parent killed (-9) and restarted mid-stream (docs/bridge.md, "Delivery
 * guarantees"): every `out` message the child acknowledged reaches the parent. Its own file for
 * the time budget (two hub starts on each side).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { portOutsideEphemeralRange } from '../helpers/outpost-process.js';
import { BridgeHubs, until } from './bridge-hubs.js';

const UPSTREAM = '$upstream';

describe('MQTT bridge through a parent restart', () => {
  const site = (t: TestContext, bridges: unknown, childEnv: Record<string, string> = {}) => {
    const hubs = new BridgeHubs(bridges, childEnv);
    t.after(() => hubs.close());
    return hubs;
  };

  it('loses no acknowledged out-message when the parent is killed (-9) and restarted mid-stream', async (t) => {
    const hubs = site(t, [{ endpoint: UPSTREAM, settings: [{ direction: 'out', topic: 'data/#', outPrefix: 'up/' }] }], { OUTPOST_UPSTREAM__RECONNECT_MAX: '4s' });
    // Ports below the ephemeral range: while the parent is down, a port 0 listener or an outgoing
    // connection elsewhere in the suite could take one of its own (seen once: EADDRINUSE on restart).
    const mqttPort = await portOutsideEphemeralRange();
    let amqpPort = await portOutsideEphemeralRange();
    while (amqpPort === mqttPort) amqpPort = await portOutsideEphemeralRange();
    const first = await hubs.startParent({ amqp: amqpPort, mqtt: mqttPort });
    // A persistent session on the parent: what the parent acknowledged to the bridge waits there for it across the restart.
    let parentDevice = await hubs.device('parent', { clean: false });
    await parentDevice.client.subscribeAsync('up/#', { qos: 1 });
    const child = await hubs.startChild();
    await child.outpost.waitFor((line) => line.event === 'bridge.connected');
    const childDevice = await hubs.device('child');
    const total = 2_000;
    const killAt = 100;
    const seen = new Set<number>();
    const record = (received: { topic: string; payload: string }[]) => {
      for (const r of received) seen.add(Number(r.payload));
    };
    // The child's device publishes the whole stream without pause; the parent is killed while
    // it flows, so some messages are in flight between the bridge and the parent at that moment.
    const publishing = (async () => {
      for (let i = 0; i < total; i++) await childDevice.client.publishAsync(`data/${i}`, String(i), { qos: 1 });
    })();
    await until('part of the stream at the parent', () => parentDevice.received.length >= killAt);
    await hubs.killParent();
    record(parentDevice.received);
    // The rest is acknowledged by the child while the parent is away: queued in the bridge's session.
    await publishing;
    await child.outpost.waitFor((line) => line.event === 'bridge.disconnected' && line.code === 'OUTPOST_BRIDGE_UNREACHABLE');
    assert.ok(seen.size < total, `the kill came after the whole stream (${seen.size} of ${total} already there)`);
    await hubs.startParent({ amqp: first.amqpPort, mqtt: first.mqttPort });
    parentDevice = await hubs.device('parent', { clean: false });
    await until(`all ${total} at the parent`, () => {
      record(parentDevice.received);
      return seen.size >= total;
    }, 60_000);
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
    assert.equal(child.outpost.lines.filter((line) => line.event === 'bridge.connected').length, 2);
  });
});
