/** upstream.protocol between two real Outposts (docs/upstream.md, "Upstream protocols"): see upstream-protocol-harness.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sendAndCheck, site } from './upstream-protocol-harness.js';

describe('upstream.protocol between two Outposts', () => {
  it('AmqpWs: the AMQP link over a WebSocket to the parent\'s HTTPS listener (/$iothub/websocket, AMQPWSB10)', async (t) => {
    const { hubs, bags } = await site(t, 'AmqpWs', false);
    await sendAndCheck(hubs, bags);
    const authenticated = hubs.parent!.outpost.lines.filter((line) => line.event === 'amqp.identity_authenticated');
    assert.ok(authenticated.some((line) => line.identity === 'dev1'), 'dev1 authenticated on the parent\'s AMQP adapter');
    assert.ok(authenticated.every((line) => line.listener === 'amqpWs'), `every AMQP identity came over WebSocket: ${JSON.stringify(authenticated.map((l) => l.listener))}`);
    assert.equal(hubs.child!.outpost.lines.filter((line) => line.event === 'upstream.connected').length, 1, 'one connection for every identity');
  });
});
