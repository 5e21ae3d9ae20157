import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';
import { until } from '../../helpers/eventually.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(() => broker.stop());

describe('MQTT 5 features', () => {
  it('advertises the limits in CONNACK', async () => {
    const c = await connectClient(broker.url, { protocolVersion: 5 });
    const p = c.connack.properties ?? {};
    assert.equal(p.receiveMaximum, 1024);
    assert.equal(p.maximumPacketSize, 256 * 1024);
    assert.equal(p.topicAliasMaximum, 16);
    assert.equal(p.sharedSubscriptionAvailable, true);
    assert.equal(p.subscriptionIdentifiersAvailable, true);
    await c.end();
  });

  it('assigns a client id to an empty one', async () => {
    const c = await connectClient(broker.url, { protocolVersion: 5, clientId: '' });
    assert.match(String(c.connack.properties?.assignedClientIdentifier), /^outpost-/);
    await c.end();
  });

  it('shares a $share group round-robin among its members, beside a normal subscriber', async () => {
    const members = await Promise.all([1, 2, 3].map(() => connectClient(broker.url, { protocolVersion: 5 })));
    for (const m of members) await m.client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    const plain = await connectClient(broker.url, { protocolVersion: 5 });
    await plain.client.subscribeAsync('jobs/+', { qos: 1 });
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    for (let i = 0; i < 30; i++) await pub.client.publishAsync(`jobs/${i}`, String(i), { qos: 1 });
    await plain.waitFor(30);
    await Promise.all(members.map((m) => m.waitFor(10)));
    const seen = members.flatMap((m) => m.messages.map((x) => Number(x.payload))).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i), 'each job once across the group');
    await Promise.all([...members, plain, pub].map((c) => c.end()));
  });

  it('resolves topic aliases from the client', async () => {
    const sub = await connectClient(broker.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('alias/#', { qos: 1 });
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    await pub.client.publishAsync('alias/long/topic', 'first', { qos: 1, properties: { topicAlias: 3 } });
    await pub.client.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 3 } });
    const got = await sub.waitFor(2);
    assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['alias/long/topic', 'first'], ['alias/long/topic', 'second']]);
    await Promise.all([sub.end(), pub.end()]);
  });

  it('carries subscription identifiers, user properties, content type and correlation data', async () => {
    const sub = await connectClient(broker.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('props/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await sub.client.subscribeAsync('props/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    await pub.client.publishAsync('props/x', '{}', {
      qos: 1,
      properties: { userProperties: { site: 'plant-1' }, contentType: 'application/json', correlationData: Buffer.from('c-1'), responseTopic: 'reply/here' },
    });
    const [got] = await sub.waitFor(1);
    const p = got!.packet.properties ?? {};
    assert.deepEqual([p.subscriptionIdentifier].flat().sort(), [7, 9]);
    assert.deepEqual({ ...p.userProperties }, { site: 'plant-1' });
    assert.equal(p.contentType, 'application/json');
    assert.equal(Buffer.from(p.correlationData ?? []).toString(), 'c-1');
    assert.equal(p.responseTopic, 'reply/here');
    await Promise.all([sub.end(), pub.end()]);
  });

  it('honours No Local and Retain As Published', async () => {
    const self = await connectClient(broker.url, { protocolVersion: 5 });
    await self.client.subscribeAsync('nl/t', { qos: 1, nl: true, rap: true });
    const other = await connectClient(broker.url, { protocolVersion: 5 });
    await self.client.publishAsync('nl/t', 'mine', { qos: 1 });
    await other.client.publishAsync('nl/t', 'theirs', { qos: 1, retain: true });
    const [got] = await self.waitFor(1);
    assert.equal(got!.payload, 'theirs');
    assert.equal(got!.packet.retain, true, 'retain as published keeps the flag');
    await other.client.publishAsync('nl/t', '', { qos: 1, retain: true });
    await Promise.all([self.end(), other.end()]);
  });

  it('does not deliver expired messages from a queue, and counts down the expiry it forwards', async () => {
    const offline = await connectClient(broker.url, { protocolVersion: 5, clientId: 'exp-sub', clean: false, properties: { sessionExpiryInterval: 60 } });
    await offline.client.subscribeAsync('exp/#', { qos: 1 });
    await offline.end();
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    await pub.client.publishAsync('exp/short', 'expires', { qos: 1, properties: { messageExpiryInterval: 1 } });
    // The broker had the message by its PUBACK: its 1 s expiry has passed once a second has since.
    const expiredAfterMs = Date.now() + 1_000;
    await pub.client.publishAsync('exp/long', 'stays', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await until(() => Date.now() > expiredAfterMs, 5_000, 'the first message\'s expiry');
    const back = await connectClient(broker.url, { protocolVersion: 5, clientId: 'exp-sub', clean: false, properties: { sessionExpiryInterval: 60 } });
    const [got] = await back.waitFor(1);
    assert.equal(got!.payload, 'stays');
    const remaining = got!.packet.properties?.messageExpiryInterval ?? 0;
    assert.ok(remaining > 90 && remaining <= 100, `remaining expiry ${remaining}`);
    // Nothing else was queued: a marker published now is the very next message.
    await pub.client.publishAsync('exp/marker', 'marker', { qos: 1 });
    await back.waitFor(2);
    assert.deepEqual(back.messages.map((m) => m.payload), ['stays', 'marker']);
    await Promise.all([back.end(), pub.end()]);
  });
});
