/**
 * C2D at least once across failures, against a real hub process: a message not acknowledged
 * (the device disconnects before its PUBACK, mqtt.js holding the ack back) is delivered again,
 * before the ones behind it; messages queued for an offline device survive a hub restart and
 * reach the Azure IoT device SDK afterwards, in order; a persistent session that resumes with its
 * C2D subscription receives without subscribing again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { api, complete, connectRaw, rawLogin, openDevice, setUp, startOn, tearDown, until, type C2dSite } from './c2d-harness.js';

let site: C2dSite | undefined;
before(async () => {
  site = await setUp(['dev1', 'dev2', 'dev3']);
});
after(() => tearDown(site));

describe('C2D across disconnects and hub restarts', () => {
  it('delivers again a message whose PUBACK never came, before the next one', async () => {
    const s = site!;
    for (const body of ['one', 'two']) assert.equal((await api(s, 'POST', 'dev1', { body, messageId: body })).status, 202);
    const held: { topic: string; payload: string }[] = [];
    // No PUBACK: the ack callback is never called (mqtt.js offers that hook with MQTT 5 only).
    const silent = await connectRaw(s, 'dev1', () => undefined, { protocolVersion: 5, customHandleAcks: (topic, payload) => void held.push({ topic, payload: payload.toString() }) });
    await until(held, 1);
    assert.equal(held[0]!.payload, 'one');
    assert.match(held[0]!.topic, /^devices\/dev1\/messages\/devicebound\/.*%24\.mid=one/);
    silent.end(true);
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    assert.equal(held.length, 1, 'one in flight at a time: "two" waits for the PUBACK of "one"');

    const received: { payload: string; dup: boolean }[] = [];
    const device = await connectRaw(s, 'dev1', (_topic, payload, packet) => received.push({ payload: payload.toString(), dup: packet.dup }));
    await until(received, 2);
    assert.deepEqual(received.map((m) => m.payload), ['one', 'two'], 'the unacknowledged one again, first');
    const deadlineMs = Date.now() + 15_000;
    while ((await api(s, 'GET', 'dev1')).body.queued !== 0) assert.ok(Date.now() < deadlineMs, 'the PUBACKs empty the queue');
    device.end(true);
  });

  it('delivers to a resumed persistent session that does not subscribe again', async () => {
    const s = site!;
    const persistent = { clientId: 'dev3', clean: false } as const;
    const first = await connectRaw(s, 'dev3', () => undefined, persistent);
    first.end(true);
    await new Promise<void>((resolve) => first.once('close', () => resolve()));
    assert.equal((await api(s, 'POST', 'dev3', { body: 'while away' })).status, 202);
    const received: string[] = [];
    const again = mqtt.connect(`mqtts://localhost:${s.port}`, { ...rawLogin(s, 'dev3'), ca: s.ca, reconnectPeriod: 0, ...persistent });
    s.clients.push(again);
    again.on('message', (_topic, payload) => received.push(payload.toString()));
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      again.once('connect', resolve);
      again.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true);
    await until(received, 1);
    assert.deepEqual(received, ['while away']);
    again.end(true);
  });

  it('keeps queued messages across a hub restart and delivers them to the SDK afterwards', async () => {
    const s = site!;
    for (const body of ['a', 'b', 'c']) assert.equal((await api(s, 'POST', 'dev2', { body, messageId: body, properties: { n: body } })).status, 202);
    s.outpost!.child.kill('SIGTERM');
    assert.equal(await s.outpost!.exited(), 0);
    await startOn(s, 0);
    const opened = await s.outpost!.waitFor((line) => line.event === 'c2d.opened');
    assert.equal(opened.queued, 3);
    assert.deepEqual((await api(s, 'GET', 'dev2')).body.messages.map((m: any) => m.messageId), ['a', 'b', 'c']);
    const received: any[] = [];
    const device = await openDevice(s, 'dev2', received);
    for (let i = 0; i < 3; i++) {
      await until(received, i + 1);
      await complete(device, received[i]);
    }
    assert.deepEqual(received.map((m) => m.data.toString()), ['a', 'b', 'c']);
    assert.deepEqual(received.map((m) => m.messageId), ['a', 'b', 'c']);
  });
});
