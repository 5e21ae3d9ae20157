/**
 * The real Azure IoT device SDK for Node over its `Amqp` transport (azure-iot-device-amqp, TLS,
 * no SASL layer, CBS put-token) against a real hub process, for what the four-transport matrix
 * (test/sdk/four-transport-matrix.test.ts: telemetry, module routes, twin, module methods, wrong
 * key, C2D complete, over Amqp and the three other transports) does not cover: a device method
 * (onDeviceMethod) invoked with `outpost method invoke`, and C2D abandon and reject.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { runOutpostJson } from '../helpers/outpost-process.js';
import { control, open, setUp, tearDown, until, type AmqpSite } from './amqp-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as { Amqp: unknown };

let site: AmqpSite | undefined;

before(async () => {
  site = await setUp([['dev1']], {});
});

after(async () => {
  await tearDown(site);
});

describe('the Azure IoT SDK over AMQP', () => {
  it('answers `outpost method invoke` through onDeviceMethod over AMQP', async () => {
    const device = await open(site!, 'device', 'dev1');
    let requestPayload: unknown;
    device.onDeviceMethod('reboot', (request: any, response: any) => {
      requestPayload = request.payload;
      response.send(201, { rebooted: true }, () => undefined);
    });
    await methodLinksAttached(site!, '/v1/methods/dev1', 'reboot');
    const answer = await runOutpostJson(['method', 'invoke', 'dev1', 'reboot', '--payload', '{"delay":1}', '--data-dir', site!.dataDir], { env: site!.env, timeoutMs: 60_000 });
    assert.equal(answer.code, 0, answer.stderr);
    assert.deepEqual(answer.json, { status: 201, payload: { rebooted: true } });
    assert.deepEqual(requestPayload, { delay: 1 });
    // One connection per identity: the C2D test opens its own.
    await device.close();
  });

  it('delivers C2D and takes complete, reject and abandon', async () => {
    const device = Client.fromConnectionString((await import('./amqp-harness.js')).connectionString(site!, 'dev1'), Amqp);
    await device.setOptions({ ca: site!.ca });
    const received: any[] = [];
    device.on('message', (message: any) => received.push(message));
    await device.open();
    site!.clients.push(device);
    const api = control(site!);
    const send = async (body: string) => {
      const result = await api.call('POST', '/v1/devices/dev1/messages/devicebound', JSON.stringify({ body, properties: { kind: body } }));
      assert.equal(result.status, 202, JSON.stringify(result.body));
    };
    await send('first');
    await until(received, 1);
    assert.equal(received[0].data.toString(), 'first');
    assert.equal(received[0].properties.getValue('kind'), 'first');
    assert.equal(typeof received[0].transportObj.message_annotations['x-opt-lock-token'], 'string');
    await new Promise<void>((resolve, reject) => device.abandon(received[0], (error: unknown) => (error ? reject(error) : resolve())));
    await until(received, 2);
    assert.equal(received[1].data.toString(), 'first', 'an abandoned message comes again');
    await new Promise<void>((resolve, reject) => device.complete(received[1], (error: unknown) => (error ? reject(error) : resolve())));
    await send('second');
    await until(received, 3);
    assert.equal(received[2].data.toString(), 'second');
    await new Promise<void>((resolve, reject) => device.reject(received[2], (error: unknown) => (error ? reject(error) : resolve())));
    await send('third');
    await until(received, 4);
    assert.equal(received[3].data.toString(), 'third', 'a rejected message is gone; the next one follows');
    await new Promise<void>((resolve, reject) => device.complete(received[3], (error: unknown) => (error ? reject(error) : resolve())));
    const queue = await api.call('GET', '/v1/devices/dev1/messages/devicebound');
    assert.equal(queue.status, 200);
    assert.deepEqual((queue.body as any).messages ?? queue.body, []);
  });
});

/**
 * The SDK attaches its method links in the background (a second enableMethods while they attach
 * never calls back): the hub answers 404 DeviceNotOnline until they are there.
 */
async function methodLinksAttached(site: AmqpSite, path: string, methodName: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const probe = await control(site).call('POST', path, JSON.stringify({ methodName, payload: null, responseTimeoutInSeconds: 10 }));
    if (probe.status === 200) return;
    assert.equal(probe.status, 404, JSON.stringify(probe.body));
    assert.ok(Date.now() < deadline, 'the method links never attached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
