/**
 * Issue 14, item 1: a client id and its session belong to the identity that holds them. A module
 * connected over TLS with SAS keeps its session and its routed inputs when an anonymous client on
 * the plain listener connects with the module's client id (persistent or clean, 3.1.1 or 5): the
 * anonymous CONNECT is refused with Not authorized and a log line, and the module is untouched.
 * A real hub process, real TLS, real SAS tokens.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions } from 'mqtt';
import { stopQuietly, tempDir, type OutpostProcess } from '../../helpers/outpost-process.js';
import { addIdentities, connectSas, startSasHub, type SasHub } from '../../helpers/sas-hub.js';
import { connectClient } from '../mqtt-clients.js';

const EDGE = 'edge-1';
const HUB = 'owner.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-session-owner-');
const dataDir = join(dir.path, 'data');
const configFile = join(dir.path, 'outpost.yaml');
const site = { dataDir, hub: HUB, env };
let hub: SasHub | undefined;
let outpost: OutpostProcess | undefined;
let plainUrl = '';

/** Resolves with the CONNACK's code when the hub refuses the CONNECT; fails if it accepts it. */
async function refusedCode(options: IClientOptions): Promise<number | undefined> {
  const client = mqtt.connect(plainUrl, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  try {
    return await new Promise<number | undefined>((resolve, reject) => {
      client.once('connect', () => reject(new Error(`the hub accepted client id ${String(options.clientId)}`)));
      client.once('error', (error) => resolve((error as { code?: number }).code));
    });
  } finally {
    client.end(true);
  }
}

/** The module's inbox: routed inputs (`input:payload`), and whether its connection ever dropped. */
function watch(module: mqtt.MqttClient): { received: string[]; closed: () => boolean; until(n: number): Promise<void> } {
  const received: string[] = [];
  let closed = false;
  module.on('close', () => (closed = true));
  module.on('message', (topic, payload) => received.push(`${topic.split('/')[5]}:${payload.toString()}`));
  return {
    received,
    closed: () => closed,
    until: (n) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${received.length} of ${n}: ${received.join(',')}`)), 30_000);
        const check = () => (received.length >= n ? (clearTimeout(timer), resolve()) : setTimeout(check, 20));
        check();
      }),
  };
}

const count = (event: string) => outpost!.lines.filter((l) => l.event === event).length;

before(async () => {
  writeFileSync(configFile, `routes:\n  toModB: FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/modB/inputs/in1")\n`);
  await addIdentities(site, [['sensor-1'], ['sensor-idle'], [EDGE, '--module', 'modB']]);
  hub = await startSasHub(site, 'hub', ['--config', configFile, '--allow-anonymous', '--mqtt-plain-port', '0']);
  outpost = hub.outpost;
  const ready = await outpost.waitFor((l) => l.event === 'hub.ready');
  plainUrl = `mqtt://127.0.0.1:${String((ready.ports as { mqttPlain: number }).mqttPlain)}`;
});

after(async () => {
  await stopQuietly(outpost);
  dir.remove();
});

describe('session ownership', () => {
  it("an anonymous client cannot take over a module's session or read its inputs (clean=false and clean=true, 3.1.1 and 5)", async () => {
    const modB = await connectSas(hub!, site, EDGE, 'modB');
    // connectSas connects with mqtt.js's default clean=true; reconnect persistent, as the SDK does.
    modB.end(true);
    const module = await new Promise<mqtt.MqttClient>((resolve, reject) => {
      const client = mqtt.connect(`mqtts://localhost:${hub!.port}`, { ...modB.options, clean: false, reconnectPeriod: 0 } as IClientOptions);
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
    const box = watch(module);
    await module.subscribeAsync(`devices/${EDGE}/modules/modB/#`, { qos: 1 });
    const sensor = await connectSas(hub!, site, 'sensor-1');
    await sensor.publishAsync('devices/sensor-1/messages/events/', 'before', { qos: 1 });
    await box.until(1);

    assert.equal(await refusedCode({ clientId: `${EDGE}/modB`, clean: false }), 5); // 3.1.1: not authorized
    assert.equal(await refusedCode({ clientId: `${EDGE}/modB`, clean: true }), 5);
    assert.equal(await refusedCode({ clientId: `${EDGE}/modB`, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }), 0x87);
    assert.equal(await refusedCode({ clientId: `${EDGE}/modB`, clean: true, protocolVersion: 5 }), 0x87);

    // The module never noticed: still connected, and its inputs still reach it alone.
    await sensor.publishAsync('devices/sensor-1/messages/events/', 'after', { qos: 1 });
    await box.until(2);
    assert.deepEqual(box.received, ['in1:before', 'in1:after']);
    assert.equal(box.closed(), false);
    assert.equal(module.connected, true);
    assert.equal(count('mqtt.session_taken_over'), 0);
    const refused = outpost!.lines.find((l) => l.event === 'mqtt.client_id_refused');
    assert.equal(refused?.code, 'OUTPOST_MQTT_CLIENT_ID_NOT_OWNED');
    assert.equal(refused?.clientId, `${EDGE}/modB`);

    // Offline, the module's session is no more anyone else's: refused, and its queue waits for it.
    await module.endAsync();
    assert.equal(await refusedCode({ clientId: `${EDGE}/modB`, clean: false }), 5);
    await sensor.publishAsync('devices/sensor-1/messages/events/', 'offline', { qos: 1 });
    const back = await new Promise<mqtt.MqttClient>((resolve, reject) => {
      const client = mqtt.connect(`mqtts://localhost:${hub!.port}`, { ...modB.options, clean: false, reconnectPeriod: 0 } as IClientOptions);
      client.once('connect', (connack) => (connack.sessionPresent ? resolve(client) : reject(new Error('the module lost its session'))));
      client.once('error', reject);
    });
    const again = watch(back);
    await again.until(1);
    assert.deepEqual(again.received, ['in1:offline']);
    await Promise.all([back.endAsync(), sensor.endAsync()]);
  });

  it("an IoT Hub identity's client id is reserved even with no session; other anonymous client ids work as before", async () => {
    assert.equal(await refusedCode({ clientId: 'sensor-idle', clean: false }), 5);
    assert.equal(await refusedCode({ clientId: `${EDGE}/not-yet-deployed`, clean: true }), 5);
    assert.equal(await refusedCode({ clientId: EDGE, clean: true }), 5);
    const first = await connectClient(plainUrl, { clientId: 'plc-7', clean: false });
    const closed = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
    // Anonymous clients are one identity: one may take over another's session (plain MQTT).
    const second = await connectClient(plainUrl, { clientId: 'plc-7', clean: false });
    assert.equal(second.connack.sessionPresent, true);
    await closed;
    await second.end();
  });
});
