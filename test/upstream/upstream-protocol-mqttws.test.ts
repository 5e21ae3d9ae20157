/** upstream.protocol between two real Outposts (docs/upstream.md, "Upstream protocols"): see upstream-protocol-harness.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryUntil } from './relay-harness.js';
import { COUNT, DEVICE_TOPIC, sendAndCheck, site } from './upstream-protocol-harness.js';
import { CHILD, TwoHubs } from './upstream-harness.js';

describe('upstream.protocol between two Outposts', () => {
  it('MqttWs: the per-identity MQTT connections over WebSocket to the parent\'s HTTPS listener, reconnected with a fresh token before it expires', async (t) => {
    // Tokens of 8 s: each connection is renewed after 6 s.
    const { hubs, bags } = await site(t, 'MqttWs', false, { OUTPOST_UPSTREAM__TOKEN_TTL: '8s' });
    await sendAndCheck(hubs, bags);
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.mqtt_token_renewal' && line.identity === 'dev1', 30_000);
    await retryUntil('dev1 connected again with a new token', async () => (hubs.child!.outpost.lines.filter((line) => line.event === 'upstream.mqtt_connected' && line.identity === 'dev1').length >= 2 ? true : undefined));
    const device = await hubs.connectToChild('dev1');
    for (let seq = COUNT; seq < COUNT + 10; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    await hubs.waitForAll('dev1', COUNT + 10);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(COUNT + 10).keys()]);
    const connected = hubs.parent!.outpost.lines.filter((line) => line.event === 'mqtt.connected' && ['dev1', `${CHILD}/mod1`].includes(String(line.clientId)));
    assert.ok(connected.length >= 2, JSON.stringify(connected));
    assert.ok(connected.every((line) => line.listener === 'mqttWs'), `over WebSocket: ${JSON.stringify(connected.map((l) => l.listener))}`);
  });
});
