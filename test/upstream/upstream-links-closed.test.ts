/**
 * A parent that closes an identity's links mid-stream (issue 18's faults): the device's identity
 * is disabled on the parent while it sends, so the child's token renewal is refused and, when the
 * token it has expires, the parent detaches that identity's links. The child holds the identity,
 * keeps its messages, and once the parent enables it again sends them, in order, nothing the device
 * was acknowledged lost. Real hubs on loopback, the device on the child over MQTT (QoS 1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { TwoHubs } from './upstream-harness.js';

const DEVICE_TOPIC = 'devices/dev1/messages/events/';

describe('a parent that closes the links', () => {
  it('detaches an identity whose token it stopped renewing: its messages wait on the child and arrive in order once it is allowed again', async (t) => {
    const dir = tempDir('outpost-links-closed-');
    // Tokens of 4 s, renewed after 3; the parent allows no clock skew, so it detaches at expiry.
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__TOKEN_TTL: '4s', OUTPOST_UPSTREAM__RECONNECT_MAX: '2s' }, { OUTPOST_AUTH__SAS_CLOCK_SKEW: '0s' });
    t.after(async () => {
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev1');
    const parent = await hubs.startParent();
    await hubs.connectSink();
    const child = await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    let seq = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq++);
    };
    await send(20);
    await hubs.waitForAll('dev1', 20);

    hubs.parentRegistry.setStatus('dev1', undefined, 'disabled');
    const detached = await parent.outpost.waitFor((line) => line.event === 'amqp.token_expired' && line.identity === 'dev1', 30_000);
    assert.ok(Number(detached.links) >= 1, JSON.stringify(detached));
    await child.outpost.waitFor((line) => line.event === 'upstream.link_failed' && line.identity === 'dev1', 30_000);
    // Acknowledged by the child (PUBACK: in its store) while the parent will not take them.
    await send(30);
    await child.outpost.waitFor((line) => line.event === 'upstream.token_refused' && line.identity === 'dev1', 30_000);
    const arrivedWhileOff = new Set(hubs.received.map((r) => r.seq)).size;
    assert.ok(arrivedWhileOff < 50, `${arrivedWhileOff} arrived while dev1 was disabled on the parent`);

    hubs.parentRegistry.setStatus('dev1', undefined, 'enabled');
    await send(10);
    await hubs.waitForAll('dev1', 60, 60_000);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(60).keys()], 'every message once at least, first arrivals in order');
    for (const item of hubs.received) assert.equal(item.cdid, 'dev1');
  });
});
