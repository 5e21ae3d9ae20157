/**
 * Twins, direct methods and C2D relayed over the MQTT upstream (upstream.protocol Mqtt,
 * docs/upstream.md "Upstream protocols"): two real Outposts on loopback, the child reaching its
 * parent with one MQTT connection per identity, the Azure IoT device SDK (AMQP) on the child, the
 * parent's operator API playing the cloud.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { childControl, parentControl, retryUntil, sdkOnChild } from './relay-harness.js';
import { TwoHubs } from './upstream-harness.js';

const report = (twin: any, patch: unknown) => new Promise<void>((resolve, reject) => twin.properties.reported.update(patch, (error: unknown) => (error ? reject(error) : resolve())));

describe('the relay over the MQTT upstream', () => {
  it('answers a method invoked on the parent, brings desired patches down and reported patches up in order, relays C2D, and GETs the parent\'s twin', async (t: TestContext) => {
    const dir = tempDir('outpost-mqtt-relay-');
    const childEnv: Record<string, string> = { OUTPOST_UPSTREAM__PROTOCOL: 'Mqtt', OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms' };
    const hubs = new TwoHubs(dir.path, childEnv, { OUTPOST_LOG_LEVEL: 'debug' });
    const clients: any[] = [];
    t.after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev1');
    hubs.addChildIdentity('dev2');
    const parent = await hubs.startParent();
    childEnv.OUTPOST_UPSTREAM__MQTT_PORT = String(parent.mqttPort);
    await hubs.startChild();
    const api = parentControl(hubs);

    // A method, over whatever the relay subscribed on the parent for dev1.
    const received: any[] = [];
    const device = await sdkOnChild(hubs, clients, 'dev1', undefined, (client) => client.on('message', (message: any) => received.push(message)));
    device.onDeviceMethod('reboot', (request: any, response: any) => response.send(201, { rebooted: request.payload }, () => undefined));
    const answer = await retryUntil('the method to reach the child\'s client', async () => {
      const result = await api.call('POST', '/v1/methods/dev1', JSON.stringify({ methodName: 'reboot', payload: { delay: 1 }, responseTimeoutInSeconds: 10 }));
      return result.status === 404 ? undefined : result;
    });
    assert.deepEqual(answer.body, { status: 201, payload: { rebooted: { delay: 1 } } });

    // Desired down, reported up.
    const twin = await device.getTwin();
    const patches: any[] = [];
    twin.on('properties.desired', (patch: any) => patches.push(patch));
    let n = 0;
    await retryUntil('a desired patch from the parent at the client', async () => {
      if (patches.some((p) => p.interval !== undefined)) return true;
      const result = await api.call('PATCH', '/v1/twins/dev1/desired', JSON.stringify({ interval: n++ }));
      assert.equal(result.status, 200);
      return undefined;
    }, 30_000, 300);
    for (let i = 0; i < 10; i++) await report(twin, { counter: i });
    await report(twin, { done: true });
    const reported = await retryUntil('the reported patches at the parent', async () => {
      const r = ((await api.call('GET', '/v1/twins/dev1')).body as any).properties.reported;
      return r.done === true ? r : undefined;
    });
    assert.equal(reported.counter, 9, 'in order: the last one stays');

    // C2D from the parent, completed by the device: gone from the parent's queue, nothing stored on the child.
    const sent = await api.call('POST', '/v1/devices/dev1/messages/devicebound', JSON.stringify({ body: 'down', messageId: 'c2d-1', properties: { kind: 'k' } }));
    assert.equal(sent.status, 202);
    await retryUntil('the C2D message at the device', async () => (received.length > 0 ? true : undefined));
    assert.equal(received[0].data.toString(), 'down');
    assert.equal(received[0].messageId, 'c2d-1');
    assert.equal(received[0].properties.getValue('kind'), 'k');
    await new Promise<void>((resolve, reject) => device.complete(received[0], (error: unknown) => (error ? reject(error) : resolve())));
    await retryUntil('the parent\'s queue to empty', async () => (((await api.call('GET', '/v1/devices/dev1/messages/devicebound')).body as any).queued === 0 ? true : undefined));
    assert.equal(((await childControl(hubs).call('GET', '/v1/devices/dev1/messages/devicebound')).body as any).queued, 0);

    // A client not subscribed to desired patches: its GET asks the parent.
    const raw = await hubs.connectToChild('dev2');
    await raw.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    const get = (rid: string) => new Promise<any>((resolve) => {
      const onMessage = (topic: string, payload: Buffer) => {
        if (!topic.endsWith(`$rid=${rid}`)) return;
        raw.off('message', onMessage);
        resolve(JSON.parse(payload.toString('utf8')));
      };
      raw.on('message', onMessage);
      raw.publish(`$iothub/twin/GET/?$rid=${rid}`, '');
    });
    await retryUntil('dev2 relayed', async () => ((await get(`w${n++}`)).desired.$version >= 1 ? true : undefined));
    await api.call('PATCH', '/v1/twins/dev2/desired', JSON.stringify({ a: 1 }));
    await api.call('PATCH', '/v1/twins/dev2/desired', JSON.stringify({ a: 2 }));
    // The relay holds no desired subscription for dev2: only the GET going up can see a = 2.
    assert.equal((await get('g1')).desired.a, 2);

    const parentClients = new Set(hubs.parent!.outpost.lines.filter((line) => line.event === 'mqtt.connected').map((line) => line.clientId));
    assert.ok(parentClients.has('dev1') && parentClients.has('dev2'), `each identity on its own MQTT connection at the parent: ${JSON.stringify([...parentClients])}`);
    assert.equal(hubs.parent!.outpost.lines.filter((line) => line.event === 'amqp.identity_authenticated').length, 0, 'nothing over AMQP');
  });
});
