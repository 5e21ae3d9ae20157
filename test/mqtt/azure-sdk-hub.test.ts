/**
 * The real Azure IoT device SDK for Node (azure-iot-device + azure-iot-device-mqtt) against a real
 * hub (child process, MQTT over TLS on an ephemeral port, the development CA), with identities
 * added through `outpost identity` and routes from a deployment manifest: device telemetry and
 * module output routed to module inputs, the C2D and method subscriptions, twin GET and
 * reported-properties PATCH answered.
 */
import assert from 'node:assert/strict';
import { hubManifest } from '../helpers/hub-manifest.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runOutpost, startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient, Message } = require('azure-iot-device') as Record<string, any>;
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };

const EDGE = 'edge-1';
const HUB = 'myhub.azure-devices.net';
const dir = tempDir('outpost-sdk-');
const dataDir = join(dir.path, 'data');
let outpost: OutpostProcess | undefined;
let port = 0;
let ca = '';
const clients: { close(): Promise<unknown> }[] = [];

const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };

async function identity(args: string[]): Promise<void> {
  const result = await runOutpost(['identity', ...args, '--data-dir', dataDir], { env });
  assert.equal(result.code, 0, result.stderr);
}

async function connectionString(args: string[]): Promise<string> {
  const result = await runOutpost(['identity', 'connection-string', ...args, '--data-dir', dataDir, '--gateway-hostname', 'localhost'], { env });
  assert.equal(result.code, 0, result.stderr);
  // The SDK's MQTT transport takes a port in GatewayHostName (azure-iot-sdk-wire.md).
  return result.stdout.trim().replace(/GatewayHostName=[^;]+/, `GatewayHostName=localhost:${port}`);
}

function onceEvent<T>(emitter: { once(event: string, fn: (...args: any[]) => void): void }, event: string, timeoutMs = 10_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (...args: T[]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

before(async () => {
  const manifest = join(dir.path, 'deployment.json');
  writeFileSync(
    manifest,
    hubManifest({
      sensorToFilter: 'FROM /messages/modules/sensor/outputs/readings INTO BrokeredEndpoint("/modules/filter/inputs/in")',
      devicesToFilter: "FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) AND level = 'high' INTO BrokeredEndpoint(\"/modules/filter/inputs/alerts\")",
    }),
  );
  await identity(['add', 'dev1']);
  await identity(['add', EDGE, '--module', 'sensor']);
  await identity(['add', EDGE, '--module', 'filter']);
  const started = await startHub({ dataDir, args: ['--deployment', manifest], env });
  outpost = started.outpost;
  port = started.ports.mqtt!;
  ca = readFileSync(String(started.ready.caFile), 'utf8');
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopQuietly(outpost);
  dir.remove();
});

async function open(kind: 'device' | 'module', cs: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(cs, Mqtt);
  await client.setOptions({ ca });
  await client.open();
  clients.push(client);
  return client;
}

describe('Azure IoT SDK devices and modules through the hub', () => {
  it('routes module output to another module input, with properties and the sender ids', async () => {
    const filter = await open('module', await connectionString([EDGE, '--module', 'filter']));
    const received = onceEvent<any>(filter, 'inputMessage');
    const sensor = await open('module', await connectionString([EDGE, '--module', 'sensor']));
    const message = new Message(JSON.stringify({ temperature: 31.5 }));
    message.properties.add('unit', 'C');
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    await sensor.sendOutputEvent('readings', message);
    const [inputName, delivered] = await received;
    assert.equal(inputName, 'in');
    assert.deepEqual(JSON.parse(delivered.data.toString()), { temperature: 31.5 });
    assert.equal(delivered.properties.getValue('unit'), 'C');
    assert.equal(delivered.properties.getValue('$.cdid') ?? delivered.connectionDeviceId ?? EDGE, EDGE);
    await filter.complete(delivered);
  });

  it('routes device telemetry by a property condition; a non-matching message goes nowhere', async () => {
    const filter = await open('module', await connectionString([EDGE, '--module', 'filter']));
    const received = onceEvent<any>(filter, 'inputMessage');
    const device = await open('device', await connectionString(['dev1']));
    const low = new Message('{"t":1}');
    low.properties.add('level', 'low');
    await device.sendEvent(low);
    const high = new Message('{"t":99}');
    high.properties.add('level', 'high');
    await device.sendEvent(high);
    const [inputName, delivered] = await received;
    assert.equal(inputName, 'alerts');
    assert.equal(delivered.data.toString(), '{"t":99}');
  });

  it('answers twin GET and reported-property PATCH, and grants the C2D and method subscriptions', async () => {
    const device = await open('device', await connectionString(['dev1']));
    const twin = await device.getTwin();
    assert.equal(typeof twin.properties.desired.$version, 'number');
    await new Promise<void>((resolve, reject) => twin.properties.reported.update({ firmware: '1.2.3' }, (error: unknown) => (error ? reject(error) : resolve())));
    const again = await device.getTwin();
    assert.equal(again.properties.reported.firmware, '1.2.3');
  });

  it('grants a device its own C2D, method and twin subscriptions and refuses another device\'s (mqtt.js with an SDK-made SAS token)', async () => {
    const cs = await connectionString(['dev1']);
    const key = /SharedAccessKey=([^;]+)/.exec(cs)![1]!;
    const { SharedAccessSignature, anHourFromNow } = require('azure-iot-common') as { SharedAccessSignature: any; anHourFromNow: () => number };
    const token = SharedAccessSignature.create(encodeURIComponent(`${HUB}/devices/dev1`), undefined, key, anHourFromNow()).toString();
    const mqtt = (await import('mqtt')).default;
    const client = mqtt.connect(`mqtts://localhost:${port}`, { clientId: 'dev1', username: `${HUB}/dev1/?api-version=2021-04-12`, password: token, ca, reconnectPeriod: 0 });
    await onceEvent(client, 'connect');
    // mqtt.js rejects a SUBACK with any refusal; the packet is on the error.
    const suback = await client
      .subscribeAsync({
        'devices/dev1/messages/devicebound/#': { qos: 1 },
        '$iothub/methods/POST/#': { qos: 0 },
        '$iothub/twin/res/#': { qos: 0 },
        'devices/dev2/messages/devicebound/#': { qos: 1 },
      })
      .then(
        () => assert.fail('the subscription to another device\'s C2D topic was granted'),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
      );
    assert.deepEqual(suback, [1, 0, 0, 0x80]);
    const response = onceEvent<any>(client, 'message');
    await client.publishAsync('$iothub/twin/GET/?$rid=42', '', { qos: 0 });
    const [topic, payload] = await response;
    assert.equal(topic, '$iothub/twin/res/200/?$rid=42');
    assert.ok(JSON.parse(payload.toString()).reported);
    await client.endAsync();
  });

  it('refuses a device with a wrong key', async () => {
    const cs = (await connectionString(['dev1'])).replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`);
    const client = Client.fromConnectionString(cs, Mqtt);
    await client.setOptions({ ca });
    await assert.rejects(client.open());
    await outpost!.waitFor((l) => l.event === 'mqtt.auth_failed');
  });
});
