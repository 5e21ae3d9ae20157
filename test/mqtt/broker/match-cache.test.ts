/**
 * The broker's per-topic match cache: with more distinct topics than it holds (12,000 here, the
 * cache holds 10,000) it goes out of the way (broker.ts matchesOf), and matching stays exact
 * while it does, also across subscription changes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(() => broker.stop());

const TOPICS = 12_000;

describe('match cache with many distinct topics', () => {
  it('delivers every message exactly, before and after subscriptions change, while topics do not repeat', async () => {
    const wide = await connectClient(broker.url);
    await wide.client.subscribeAsync('mc/+', { qos: 1 });
    const narrow = await connectClient(broker.url);
    await narrow.client.subscribeAsync('mc/7', { qos: 1 });
    const pub = await connectClient(broker.url);
    for (let i = 0; i < TOPICS; i++) pub.client.publish(`mc/${i}`, String(i), { qos: 0 });
    await pub.client.publishAsync('mc/7', 'again', { qos: 1 });
    await wide.waitFor(TOPICS + 1, 30_000);
    // Each subscriber has its own connection: the wide one finishing says nothing of the narrow one.
    await narrow.waitFor(2, 10_000);
    assert.deepEqual(
      narrow.messages.map((m) => m.payload),
      ['7', 'again'],
    );

    // The subscriptions change after the cache stepped aside: both directions take effect at once.
    await narrow.client.subscribeAsync('mc/11500', { qos: 1 });
    await narrow.client.unsubscribeAsync('mc/7');
    await pub.client.publishAsync('mc/7', 'gone', { qos: 1 });
    await pub.client.publishAsync('mc/11500', 'new', { qos: 1 });
    await wide.waitFor(TOPICS + 3, 10_000);
    await narrow.waitFor(3, 10_000);
    assert.deepEqual(
      narrow.messages.map((m) => `${m.topic}=${m.payload}`),
      ['mc/7=7', 'mc/7=again', 'mc/11500=new'],
    );
    assert.equal(new Set(wide.messages.map((m) => m.topic)).size, TOPICS, 'every topic reached the wildcard subscriber');
    await Promise.all([wide.end(), narrow.end(), pub.end()]);
  });
});
