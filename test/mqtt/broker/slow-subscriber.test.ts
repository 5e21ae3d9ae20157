import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { after, before, describe, it } from 'node:test';
import { rawClient, startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';

const MAX_QUEUED = 1000;
const MAX_INFLIGHT = 64;
let broker: TestBroker;
before(async () => {
  broker = await startTestBroker({ maxQueued: MAX_QUEUED, maxInflight: MAX_INFLIGHT, limits: { maxConnectionBufferBytes: 64 * 1024 } });
});
after(() => broker.stop());

describe('a slow subscriber', () => {
  it('costs only its own bounded queue: publishers and a fast subscriber carry on at full pace', async () => {
    // The slow subscriber subscribes at QoS 1, then never reads again and never acknowledges.
    const slow = await rawClient(broker.port);
    slow.socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'slow', clean: true, keepalive: 0 }));
    slow.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'load/#', qos: 1 }] }));
    const slowSession = await new Promise<NonNullable<ReturnType<TestBroker['broker']['session']>>>((resolve) => {
      const check = () => {
        const session = broker.broker.session('slow');
        if (session?.subscriptions.has('load/#')) resolve(session);
        else setImmediate(check);
      };
      check();
    });
    slow.socket.pause();

    const fast = await connectClient(broker.url, { clientId: 'fast' });
    await fast.client.subscribeAsync('load/#', { qos: 1 });
    const publisher = await connectClient(broker.url, { clientId: 'publisher' });
    const payload = Buffer.alloc(1024, 0x61);
    const count = 5_000;
    const startedMs = Date.now();
    // Batches paced by the fast subscriber: each must arrive while the slow one sits on its share.
    for (let i = 0; i < count; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => publisher.client.publishAsync(`load/${(i + j) % 10}`, Buffer.concat([Buffer.from(`${i + j}:`), payload]), { qos: 1 })));
      await fast.waitFor(i + 100, 5_000);
    }
    const got = await fast.waitFor(count, 20_000).catch((error: Error) => {
      throw new Error(`${error.message.slice(0, 60)}; counters ${JSON.stringify(broker.broker.counters)}; fast session queued ${broker.broker.session('fast')?.queuedCount} inflight ${broker.broker.session('fast')?.inflightCount}`);
    });
    const elapsedMs = Date.now() - startedMs;
    assert.deepEqual(
      got.map((m) => Number(m.payload.slice(0, m.payload.indexOf(':')))),
      Array.from({ length: count }, (_, i) => i),
      'the fast subscriber got everything, in order',
    );
    assert.ok(elapsedMs < 15_000, `5,000 messages took ${elapsedMs} ms`);
    // The slow one holds at most its window and its queue; the rest was dropped and counted.
    assert.ok(slowSession.inflightCount <= MAX_INFLIGHT, `in flight ${slowSession.inflightCount}`);
    assert.ok(slowSession.queuedCount <= MAX_QUEUED, `queued ${slowSession.queuedCount}`);
    assert.ok(broker.broker.counters.droppedQueueFull >= count - MAX_QUEUED - MAX_INFLIGHT, `dropped ${broker.broker.counters.droppedQueueFull}`);
    slow.socket.destroy();
    await Promise.all([fast.end(), publisher.end()]);
  });
});
