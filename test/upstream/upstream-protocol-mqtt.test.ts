/** upstream.protocol between two real Outposts (docs/upstream.md, "Upstream protocols"): see upstream-protocol-harness.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stopQuietly } from '../helpers/outpost-process.js';
import { COUNT, DEVICE_TOPIC, sendAndCheck, site } from './upstream-protocol-harness.js';
import { CHILD, TwoHubs } from './upstream-harness.js';

describe('upstream.protocol between two Outposts', () => {
  it('Mqtt (set as UpstreamProtocol): one MQTT connection per identity, telemetry settled by PUBACK, and it survives a parent killed (-9) and restarted', async (t) => {
    const { hubs, bags, proxy } = await site(t, 'Mqtt', true);
    await sendAndCheck(hubs, bags);
    const clientIds = new Set(hubs.parent!.outpost.lines.filter((line) => line.event === 'mqtt.connected').map((line) => line.clientId));
    for (const id of [CHILD, 'dev1', `${CHILD}/mod1`]) assert.ok(clientIds.has(id), `an MQTT connection of ${id} at the parent: ${JSON.stringify([...clientIds])}`);
    assert.equal(hubs.parent!.outpost.lines.filter((line) => line.event === 'amqp.identity_authenticated').length, 0, 'nothing over AMQP');

    // The parent killed mid-stream and restarted on the same ports: nothing the child acknowledged is lost, order kept per source.
    const device = await hubs.connectToChild('dev1');
    const sending = (async () => {
      for (let seq = COUNT; seq < 3 * COUNT; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    })();
    await hubs.waitForAll('dev1', COUNT + 10);
    await stopQuietly(hubs.parent!.outpost);
    await sending;
    const restarted = await hubs.startParent();
    proxy!.targetPort = restarted.mqttPort;
    await hubs.connectSink();
    await hubs.waitForAll('dev1', 3 * COUNT, 120_000);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(3 * COUNT).keys()]);
  });
});
