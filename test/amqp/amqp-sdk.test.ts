/**
 * The real Azure IoT device SDK for Node over its `Amqp` transport (azure-iot-device-amqp, TLS,
 * no SASL layer, CBS put-token) against a real hub process: device telemetry and module output
 * routed to a module input, twin get/reported/desired, a direct method answered, C2D complete /
 * reject / abandon, and a wrong key refused by CBS.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { runOutpostJson } from '../helpers/outpost-process.js';
import { control, EDGE, open, setUp, tearDown, until, type AmqpSite } from './amqp-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, Message } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as { Amqp: unknown };

let site: AmqpSite | undefined;

before(async () => {
  site = await setUp([['dev1'], ['dev2'], [EDGE, 'sensor'], [EDGE, 'filter'], [EDGE, 'sink']], {
    sensorToFilter: 'FROM /messages/modules/sensor/outputs/readings INTO BrokeredEndpoint("/modules/filter/inputs/in")',
    devicesToSink: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/sink/inputs/telemetry")',
  });
});

after(async () => {
  await tearDown(site);
});

describe('the Azure IoT SDK over AMQP', () => {
  it('routes device telemetry (50 messages, 40 in parallel) to a module input over AMQP, with its properties and the sender ids', async () => {
    const sink = await open(site!, 'module', EDGE, 'sink');
    const received: any[] = [];
    sink.on('inputMessage', (inputName: string, message: any) => {
      received.push({ inputName, message });
      sink.complete(message, () => undefined);
    });
    const device = await open(site!, 'device', 'dev1');
    const send = (i: number) => {
      const message = new Message(JSON.stringify({ i }));
      message.messageId = `m-${i}`;
      message.contentType = 'application/json';
      message.contentEncoding = 'utf-8';
      message.properties.add('seq', String(i));
      return device.sendEvent(message);
    };
    await Promise.all(Array.from({ length: 40 }, (_, i) => send(i)));
    for (let i = 40; i < 50; i++) await send(i);
    await until(received, 50);
    const first = received.find((r) => r.message.messageId === 'm-0');
    assert.ok(first !== undefined);
    assert.equal(first.inputName, 'telemetry');
    assert.deepEqual(JSON.parse(first.message.data.toString()), { i: 0 });
    assert.equal(first.message.properties.getValue('seq'), '0');
    assert.equal(first.message.contentType, 'application/json');
    assert.equal(first.message.transportObj.message_annotations['iothub-connection-device-id'], 'dev1');
    assert.deepEqual(new Set(received.map((r) => r.message.messageId)).size, 50);
  });

  it('routes module output to another module input in order (100 messages), attributed to the authenticated sender', async () => {
    const filter = await open(site!, 'module', EDGE, 'filter');
    const received: any[] = [];
    filter.on('inputMessage', (inputName: string, message: any) => {
      received.push({ inputName, message });
      filter.complete(message, () => undefined);
    });
    const sensor = await open(site!, 'module', EDGE, 'sensor');
    for (let i = 0; i < 100; i++) {
      const message = new Message(JSON.stringify({ t: i }));
      message.properties.add('unit', 'C');
      // A sender cannot pose as another module: these are application properties, nothing more.
      message.properties.add('iothub-connection-module-id', 'filter');
      await sensor.sendOutputEvent('readings', message);
    }
    await until(received, 100);
    assert.deepEqual(received.map((r) => JSON.parse(r.message.data.toString()).t), Array.from({ length: 100 }, (_, i) => i));
    const last = received[99];
    assert.equal(last.inputName, 'in');
    assert.equal(last.message.properties.getValue('unit'), 'C');
    const annotations = last.message.transportObj.message_annotations;
    assert.equal(annotations['iothub-connection-device-id'], EDGE);
    assert.equal(annotations['iothub-connection-module-id'], 'sensor');
    assert.equal(annotations['x-opt-input-name'], 'in');
  });

  it('answers twin GET and reported PATCH, and sends desired updates after the subscription', async () => {
    const device = await open(site!, 'device', 'dev2');
    const twin = await device.getTwin();
    assert.equal(typeof twin.properties.desired.$version, 'number');
    await new Promise<void>((resolve, reject) => twin.properties.reported.update({ firmware: '1.2.3' }, (error: unknown) => (error ? reject(error) : resolve())));
    const seen = await control(site!).call('GET', '/v1/twins/dev2');
    assert.equal(seen.status, 200);
    assert.equal((seen.body as any).properties.reported.firmware, '1.2.3');
    // The SDK emits the whole desired section when the listener is added, then each patch; it
    // subscribes in the background, so the operator patches until one reaches it.
    const patches: any[] = [];
    twin.on('properties.desired', (patch: any) => patches.push(patch));
    const patched = await patchUntilSeen(site!, 'dev2', patches);
    assert.equal(patched.temperature, 21);
    assert.equal(typeof patched.$version, 'number');
    const again = await device.getTwin();
    assert.equal(again.properties.reported.firmware, '1.2.3');
    assert.equal(again.properties.desired.temperature, 21);
  });

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
  });

  it('answers a module method (onMethod) invoked with `outpost method invoke`', async () => {
    const module = await open(site!, 'module', EDGE, 'filter');
    module.onMethod('ping', (request: any, response: any) => response.send(200, { echo: request.payload }, () => undefined));
    await methodLinksAttached(site!, `/v1/methods/${EDGE}/modules/filter`, 'ping');
    const answer = await runOutpostJson(['method', 'invoke', `${EDGE}/filter`, 'ping', '--payload', '"hello"', '--data-dir', site!.dataDir], { env: site!.env, timeoutMs: 60_000 });
    assert.equal(answer.code, 0, answer.stderr);
    assert.deepEqual(answer.json, { status: 200, payload: { echo: 'hello' } });
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

  it('refuses a wrong key with a CBS status, and the hub goes on serving', async () => {
    const cs = (await import('./amqp-harness.js')).connectionString(site!, 'dev1').replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`);
    const device = Client.fromConnectionString(cs, Amqp);
    await device.setOptions({ ca: site!.ca });
    await assert.rejects(device.open(), (error: any) => {
      // The SDK turns any put-token status but 200 into UnauthorizedError with our description
      // (amqp-raw.test.ts checks the status-code itself).
      assert.equal(error?.constructor?.name, 'UnauthorizedError', String(error));
      assert.equal(error.message, 'credentials do not verify for this identity');
      return true;
    });
    await device.close().catch(() => undefined);
    const good = await open(site!, 'device', 'dev1');
    await good.sendEvent(new Message('still fine'));
  });
});

/** Patches desired until the SDK's subscription (set up in the background) delivers a patch with `temperature`. */
async function patchUntilSeen(site: AmqpSite, deviceId: string, patches: any[]): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (let n = 0; ; n++) {
    const found = patches.find((p) => p.temperature === 21);
    if (found !== undefined) return found;
    assert.ok(Date.now() < deadline, 'no desired patch reached the client');
    const result = await control(site).call('PATCH', `/v1/twins/${deviceId}/desired`, JSON.stringify({ temperature: 21, n }));
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

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
