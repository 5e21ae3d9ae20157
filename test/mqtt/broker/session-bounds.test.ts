/**
 * Issue 14, item 5 (sessions): anonymous clients cannot pile up offline persistent sessions, and
 * what sessions queue is bounded in bytes, per session and across the broker. Over the limit: a
 * CONNECT that would open one more persistent session is refused (0x97 Quota exceeded; 3.1.1:
 * Server unavailable); a queue that would pass a byte bound drops its session's oldest messages,
 * or the new one when it cannot fit at all, counted. A real broker and real clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RocksBrokerStore } from '../../../src/hub/broker/index.js';
import { createLogger } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/outpost-process.js';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient, type TestClient } from '../mqtt-clients.js';

/** The CONNACK code a refused CONNECT got (mqtt.js reports it on the error). */
async function refusal(connecting: Promise<TestClient>): Promise<number | undefined> {
  return connecting.then(
    async (client) => {
      await client.end();
      throw new Error('the CONNECT was accepted');
    },
    (error: { code?: number }) => error.code,
  );
}

/** A persistent session subscribed to `filter` at QoS 1, left waiting offline. */
async function offlineSubscriber(broker: TestBroker, clientId: string, filter: string): Promise<void> {
  const client = await connectClient(broker.url, { clientId, clean: false });
  await client.client.subscribeAsync(filter, { qos: 1 });
  await client.end();
}

/** Reconnects a persistent session and returns the payloads it was owed, in order (a marker proves nothing else followed). */
async function drainSession(broker: TestBroker, clientId: string, topic: string, expected: number): Promise<string[]> {
  const client = await connectClient(broker.url, { clientId, clean: false });
  assert.equal(client.connack.sessionPresent, true);
  const publisher = await connectClient(broker.url);
  await client.waitFor(expected);
  await publisher.client.publishAsync(topic, 'marker', { qos: 1 });
  const all = await client.waitFor(expected + 1);
  await Promise.all([client.end(), publisher.end()]);
  assert.equal(all[expected]!.payload, 'marker');
  return all.slice(0, expected).map((m) => m.payload);
}

const payload = (i: number, bytes: number) => `m${i}`.padEnd(bytes, '.');

describe('session and queue bounds', () => {
  it('refuses a persistent session past mqtt.maxSessionsPerIdentity (0x97; 3.1.1 code 3), but not a clean one or a resumed one', async () => {
    const broker = await startTestBroker({ brokerLimits: { maxSessionsPerOwner: 3 } });
    try {
      for (let i = 0; i < 3; i++) await (await connectClient(broker.url, { clientId: `keep-${i}`, clean: false })).end();
      assert.equal(await refusal(connectClient(broker.url, { clientId: 'keep-3', clean: false })), 3);
      assert.equal(await refusal(connectClient(broker.url, { clientId: 'keep-v5', protocolVersion: 5, properties: { sessionExpiryInterval: 60 } })), 0x97);
      assert.equal(broker.broker.sessionCount, 3);

      // A clean session ends with its connection: never refused. A session of its own resumes.
      await (await connectClient(broker.url, { clientId: 'passing', clean: true })).end();
      const resumed = await connectClient(broker.url, { clientId: 'keep-0', clean: false });
      assert.equal(resumed.connack.sessionPresent, true);
      await resumed.end();

      // Ending a session (a clean start, or MQTT 5 expiry 0 at DISCONNECT) frees its place.
      await (await connectClient(broker.url, { clientId: 'keep-1', clean: true })).end();
      await (await connectClient(broker.url, { clientId: 'keep-3', clean: false })).end();
      const v5 = await connectClient(broker.url, { clientId: 'keep-2', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
      await new Promise<void>((resolve) => v5.client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve()));
      await (await connectClient(broker.url, { clientId: 'keep-v5', protocolVersion: 5, properties: { sessionExpiryInterval: 60 } })).end();
      assert.equal(await refusal(connectClient(broker.url, { clientId: 'keep-4', clean: false })), 3);
      assert.deepEqual([...broker.broker.allSessions()].map((s) => s.clientId).sort(), ['keep-0', 'keep-3', 'keep-v5']);
    } finally {
      await broker.stop();
    }
  });

  it('bounds one session\'s queue in bytes (mqtt.maxQueuedBytes): the oldest go, a message too large on its own goes alone', async () => {
    const broker = await startTestBroker({ brokerLimits: { maxQueuedBytes: 10_000 } });
    try {
      await offlineSubscriber(broker, 'slow', 'b/t');
      const publisher = await connectClient(broker.url);
      // 1,003 bytes each (payload and topic): 9 fit in 10,000.
      for (let i = 0; i < 30; i++) await publisher.client.publishAsync('b/t', payload(i, 1000), { qos: 1 });
      const session = broker.broker.session('slow')!;
      assert.equal(session.queuedCount, 9);
      assert.equal(session.queuedBytes, 9 * 1003);
      assert.equal(broker.broker.counters.droppedQueueFull, 21);
      // Larger than the bound on its own: dropped, and it takes no queued message with it.
      await publisher.client.publishAsync('b/t', payload(99, 20_000), { qos: 1 });
      assert.equal(session.queuedCount, 9);
      assert.equal(broker.broker.counters.droppedQueueFull, 22);
      await publisher.end();
      const got = await drainSession(broker, 'slow', 'b/t', 9);
      assert.deepEqual(got.map((p) => p.split('.')[0]), ['m21', 'm22', 'm23', 'm24', 'm25', 'm26', 'm27', 'm28', 'm29']);
      assert.equal(broker.broker.queuedBytes, 0);
    } finally {
      await broker.stop();
    }
  });

  it('bounds the bytes queued across all sessions (mqtt.maxQueuedBytesTotal); an ended session gives its bytes back', async () => {
    const broker = await startTestBroker({ brokerLimits: { maxQueuedBytesTotal: 25_000 } });
    try {
      for (const id of ['a', 'b', 'c']) await offlineSubscriber(broker, id, 't/#');
      const publisher = await connectClient(broker.url);
      for (let i = 0; i < 10; i++) await publisher.client.publishAsync('t/x', payload(i, 1000), { qos: 1 });
      // Three sessions would hold 10 × 1,003 bytes each; together they stay within 25,000.
      assert.ok(broker.broker.queuedBytes <= 25_000, `queued ${broker.broker.queuedBytes}`);
      assert.ok(broker.broker.queuedBytes > 25_000 - 3 * 1003);
      assert.ok(broker.broker.counters.droppedTotalQueueFull >= 6);
      const sessions = ['a', 'b', 'c'].map((id) => broker.broker.session(id)!);
      assert.equal(broker.broker.queuedBytes, sessions.reduce((sum, s) => sum + s.queuedBytes, 0));

      // A clean start ends session c: its bytes are free for the others again.
      const cBytes = sessions[2]!.queuedBytes;
      const before = broker.broker.queuedBytes;
      await (await connectClient(broker.url, { clientId: 'c', clean: true })).end();
      assert.equal(broker.broker.queuedBytes, before - cBytes);
      await publisher.client.publishAsync('t/x', payload(10, 1000), { qos: 1 });
      await publisher.end();

      // Each session keeps its newest messages, in order, ending with the last one published.
      const a = await drainSession(broker, 'a', 't/x', sessions[0]!.queuedCount);
      const indexes = a.map((p) => Number(p.split('.')[0]!.slice(1)));
      assert.deepEqual(indexes, [...indexes].sort((x, y) => x - y));
      assert.equal(indexes.at(-1), 10);
      assert.equal(broker.broker.queuedBytes, broker.broker.session('b')!.queuedBytes);
    } finally {
      await broker.stop();
    }
  });

  it('holds sessions restored after a restart to the bounds: the quota counts them, a smaller byte bound trims them for good', async () => {
    const dir = tempDir('outpost-session-bounds-');
    const logger = createLogger({ level: 'silent' });
    const store = () => new RocksBrokerStore(dir.path, logger);
    // Each broker is stopped even when an assertion fails, so a failure never hangs the file.
    const running = new Set<TestBroker>();
    const start = async (options: Parameters<typeof startTestBroker>[0]) => {
      const started = await startTestBroker(options);
      running.add(started);
      return started;
    };
    const stop = async (broker: TestBroker) => {
      running.delete(broker);
      await broker.stop();
    };
    try {
      const first = await start({ store: store() });
      await offlineSubscriber(first, 'kept', 'r/t');
      const publisher = await connectClient(first.url);
      for (let i = 0; i < 12; i++) await publisher.client.publishAsync('r/t', payload(i, 1000), { qos: 1 });
      await publisher.end();
      await stop(first);

      // Restarted with 5,000 bytes per session and one persistent session per identity.
      const second = await start({ store: store(), brokerLimits: { maxQueuedBytes: 5_000, maxSessionsPerOwner: 1 } });
      assert.equal(second.broker.session('kept')!.queuedCount, 4);
      assert.equal(second.broker.queuedBytes, 4 * 1003);
      assert.equal(await refusal(connectClient(second.url, { clientId: 'another', clean: false })), 3);
      await stop(second);

      // What the bound dropped is gone from the store too; the newest four are delivered.
      const third = await start({ store: store() });
      const got = await drainSession(third, 'kept', 'r/t', 4);
      assert.deepEqual(got.map((p) => p.split('.')[0]), ['m8', 'm9', 'm10', 'm11']);
    } finally {
      for (const broker of running) await broker.stop();
      dir.remove();
    }
  });
});
