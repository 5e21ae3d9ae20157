import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { closedBy, connectClient } from '../mqtt-clients.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker({ limits: { maxKeepAliveSec: 600 } });
});
after(() => broker.stop());

describe('sessions', () => {
  it('queues QoS 1 for an offline persistent session (3.1.1 clean=false) and delivers it on reconnect', async () => {
    const first = await connectClient(broker.url, { clientId: 'persist-v4', clean: false });
    await first.client.subscribeAsync('persist/v4', { qos: 1 });
    await first.end();
    const pub = await connectClient(broker.url);
    for (let i = 0; i < 5; i++) await pub.client.publishAsync('persist/v4', `m${i}`, { qos: 1 });
    await pub.client.publishAsync('persist/v4', 'dropped-q0', { qos: 0 });
    const again = await connectClient(broker.url, { clientId: 'persist-v4', clean: false });
    assert.equal(again.connack.sessionPresent, true);
    const got = await again.waitFor(5);
    assert.deepEqual(got.map((m) => m.payload), ['m0', 'm1', 'm2', 'm3', 'm4']);
    await Promise.all([again.end(), pub.end()]);
  });

  it('reports session present, and a clean start discards the session', async () => {
    const a = await connectClient(broker.url, { clientId: 'present', clean: false });
    assert.equal(a.connack.sessionPresent, false);
    await a.end();
    const b = await connectClient(broker.url, { clientId: 'present', clean: false });
    assert.equal(b.connack.sessionPresent, true);
    await b.end();
    const clean = await connectClient(broker.url, { clientId: 'present', clean: true });
    assert.equal(clean.connack.sessionPresent, false);
    await clean.end();
  });

  it('MQTT 5: a session with an expiry interval survives a disconnect; takeover disconnects the old client with 0x8E', async () => {
    const old = await connectClient(broker.url, { protocolVersion: 5, clientId: 'take', clean: false, properties: { sessionExpiryInterval: 60 } });
    await old.client.subscribeAsync('take/t', { qos: 1 });
    const reason = new Promise<number | undefined>((resolve) => old.client.once('disconnect', (packet) => resolve(packet.reasonCode)));
    const fresh = await connectClient(broker.url, { protocolVersion: 5, clientId: 'take', clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(await reason, 0x8e);
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    await pub.client.publishAsync('take/t', 'to-the-new-one', { qos: 1 });
    const [got] = await fresh.waitFor(1);
    assert.equal(got!.payload, 'to-the-new-one');
    await Promise.all([fresh.end(), pub.end()]);
  });

  it('publishes the will on an abnormal close, not on a normal DISCONNECT', async () => {
    const watcher = await connectClient(broker.url);
    await watcher.client.subscribeAsync('will/#', { qos: 1 });
    const normal = await connectClient(broker.url, { will: { topic: 'will/normal', payload: Buffer.from('bye'), qos: 1, retain: false } });
    await normal.end();
    const abrupt = await connectClient(broker.url, { will: { topic: 'will/abrupt', payload: Buffer.from('lost'), qos: 1, retain: false } });
    abrupt.client.stream.destroy();
    const [will] = await watcher.waitFor(1);
    assert.equal(will!.topic, 'will/abrupt');
    assert.equal(will!.payload, 'lost');
    await watcher.end();
  });

  it('MQTT 5: a delayed will is cancelled when the client comes back in time', async () => {
    const watcher = await connectClient(broker.url, { protocolVersion: 5 });
    await watcher.client.subscribeAsync('dwill/#', { qos: 1 });
    const options = {
      protocolVersion: 5 as const,
      clientId: 'dwill-client',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: 'dwill/gone', payload: Buffer.from('x'), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } },
    };
    const first = await connectClient(broker.url, options);
    first.client.stream.destroy();
    await closedBy(first.client);
    const back = await connectClient(broker.url, options);
    const second = await connectClient(broker.url, { ...options, clientId: 'dwill-other', will: { ...options.will, topic: 'dwill/other' } });
    second.client.stream.destroy();
    const [will] = await watcher.waitFor(1, 5_000);
    assert.equal(will!.topic, 'dwill/other', 'only the client that stayed away has its will published');
    await Promise.all([back.end(), watcher.end()]);
  });

  it('closes a connection silent for 1.5 keep-alive periods and publishes its will', async () => {
    const watcher = await connectClient(broker.url);
    await watcher.client.subscribeAsync('ka/#', { qos: 0 });
    const startedMs = Date.now();
    const silent = await connectClient(broker.url, { keepalive: 1, will: { topic: 'ka/dead', payload: Buffer.from('x'), qos: 0, retain: false } });
    // Stop mqtt.js from sending PINGREQs so the connection goes silent.
    (silent.client as unknown as { _shiftPingInterval?: () => void; pingTimer?: { clear?: () => void } }).pingTimer?.clear?.();
    (silent.client.options as { keepalive: number }).keepalive = 0;
    const keepAliveManager = (silent.client as unknown as { keepaliveManager?: { destroy(): void } }).keepaliveManager;
    keepAliveManager?.destroy();
    await watcher.waitFor(1, 5_000);
    const elapsedMs = Date.now() - startedMs;
    assert.ok(elapsedMs >= 1_400 && elapsedMs < 4_000, `closed after ${elapsedMs} ms`);
    await watcher.end();
    await silent.end(true);
  });
});
