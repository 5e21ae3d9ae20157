import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(() => broker.stop());

for (const protocolVersion of [4, 5] as const) {
  describe(`delivery, MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}`, () => {
    it('delivers QoS 0, 1 and 2 to matching wildcard subscriptions, at the lower of the two QoS', async () => {
      const tag = `d${protocolVersion}`;
      const sub = await connectClient(broker.url, { protocolVersion });
      await sub.client.subscribeAsync({ [`${tag}/+/temp`]: { qos: 2 }, [`${tag}/low/#`]: { qos: 0 } });
      const pub = await connectClient(broker.url, { protocolVersion });
      await pub.client.publishAsync(`${tag}/a/temp`, 'q0', { qos: 0 });
      await pub.client.publishAsync(`${tag}/b/temp`, 'q1', { qos: 1 });
      await pub.client.publishAsync(`${tag}/c/temp`, 'q2', { qos: 2 });
      await pub.client.publishAsync(`${tag}/low/x`, 'capped', { qos: 2 });
      await pub.client.publishAsync(`${tag}/nomatch`, 'never', { qos: 1 });
      const got = await sub.waitFor(4);
      assert.deepEqual(
        got.map((m) => [m.topic, m.payload, m.packet.qos]),
        [
          [`${tag}/a/temp`, 'q0', 0],
          [`${tag}/b/temp`, 'q1', 1],
          [`${tag}/c/temp`, 'q2', 2],
          [`${tag}/low/x`, 'capped', 0],
        ],
      );
      await Promise.all([sub.end(), pub.end()]);
    });

    it('keeps per-publisher order for a burst of QoS 1 messages beyond the in-flight window', async () => {
      const topic = `order${protocolVersion}`;
      const sub = await connectClient(broker.url, { protocolVersion });
      await sub.client.subscribeAsync(topic, { qos: 1 });
      const pub = await connectClient(broker.url, { protocolVersion });
      const count = 500;
      await Promise.all(Array.from({ length: count }, (_, i) => pub.client.publishAsync(topic, String(i), { qos: 1 })));
      const got = await sub.waitFor(count);
      assert.deepEqual(got.map((m) => Number(m.payload)), Array.from({ length: count }, (_, i) => i));
      await Promise.all([sub.end(), pub.end()]);
    });

    it('stores, replaces, delivers and clears retained messages', async () => {
      const topic = `ret${protocolVersion}/state`;
      const pub = await connectClient(broker.url, { protocolVersion });
      await pub.client.publishAsync(topic, 'one', { qos: 1, retain: true });
      await pub.client.publishAsync(topic, 'two', { qos: 1, retain: true });
      const first = await connectClient(broker.url, { protocolVersion });
      await first.client.subscribeAsync(`ret${protocolVersion}/#`, { qos: 1 });
      const [retained] = await first.waitFor(1);
      assert.equal(retained!.payload, 'two');
      assert.equal(retained!.packet.retain, true);
      // A live message to an existing subscriber is not flagged retained (MQTT-3.3.1-9).
      await pub.client.publishAsync(topic, 'three', { qos: 1, retain: true });
      const [, live] = await first.waitFor(2);
      assert.equal(live!.packet.retain, false);
      await pub.client.publishAsync(topic, '', { qos: 1, retain: true });
      const second = await connectClient(broker.url, { protocolVersion });
      await second.client.subscribeAsync(`ret${protocolVersion}/#`, { qos: 1 });
      await pub.client.publishAsync(`ret${protocolVersion}/marker`, 'm', { qos: 1 });
      const [only] = await second.waitFor(1);
      assert.equal(only!.topic, `ret${protocolVersion}/marker`, 'the cleared retained message is gone');
      await Promise.all([pub.end(), first.end(), second.end()]);
    });

    it('does not let wildcards at the first level match $ topics', async () => {
      const sub = await connectClient(broker.url, { protocolVersion });
      await sub.client.subscribeAsync(['#', '+/dollar'], { qos: 0 });
      const direct = await connectClient(broker.url, { protocolVersion });
      await direct.client.subscribeAsync('$SYS/dollar', { qos: 0 });
      const pub = await connectClient(broker.url, { protocolVersion });
      await pub.client.publishAsync('$SYS/dollar', 'x', { qos: 1 });
      await pub.client.publishAsync(`plain${protocolVersion}/after`, 'y', { qos: 1 });
      await direct.waitFor(1);
      const got = await sub.waitFor(1);
      assert.equal(got[0]!.topic, `plain${protocolVersion}/after`);
      await Promise.all([sub.end(), direct.end(), pub.end()]);
    });
  });
}

describe('unsubscribe', () => {
  it('stops delivery and reports, in MQTT 5, whether the subscription existed', async () => {
    const sub = await connectClient(broker.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('uns/a', { qos: 1 });
    const ack = await sub.client.unsubscribeAsync(['uns/a', 'uns/never']);
    assert.deepEqual((ack as { reasonCode?: number[] } | undefined)?.reasonCode ?? (ack as unknown as { granted?: number[] })?.granted, [0x00, 0x11]);
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('uns/marker', { qos: 1 });
    await pub.client.publishAsync('uns/a', 'gone', { qos: 1 });
    await pub.client.publishAsync('uns/marker', 'm', { qos: 1 });
    const [first] = await sub.waitFor(1);
    assert.equal(first!.topic, 'uns/marker');
    await Promise.all([sub.end(), pub.end()]);
  });
});
