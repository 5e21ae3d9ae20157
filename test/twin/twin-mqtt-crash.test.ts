/**
 * Twins over MQTT (mqtt.js on TLS, as the IoT Hub MQTT API) through a hub that is killed with
 * SIGKILL: every reported patch answered 204 before the kill is still there after it, in order;
 * and a persistent session that reconnects without subscribing again (what the Azure SDK does) is
 * sent the desired changes it missed, across a kill too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runOutpost, startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentity, connectIdentity, type IotIdentity } from '../store/iot-clients.js';

const EDGE = 'edge-1';
const HUB = 'twincrash.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-twin-crash-');
const dataDir = join(dir.path, 'data');
let hub: OutpostProcess | undefined;
let port = 0;
let ca = '';
const clients = new Set<MqttClient>();

async function start(): Promise<void> {
  const started = await startHub({ dataDir, env });
  hub = started.outpost;
  port = started.ports.mqtt!;
  ca = readFileSync(String(started.ready.caFile), 'utf8');
}

async function kill(): Promise<void> {
  for (const client of clients) client.end(true);
  clients.clear();
  hub!.child.kill('SIGKILL');
  await hub!.exited();
}

async function connect(identity: IotIdentity, clean: boolean): Promise<MqttClient> {
  const client = await connectIdentity(HUB, port, ca, identity, { clean });
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

async function twinCli(args: string[]): Promise<any> {
  const result = await runOutpost(['twin', ...args, '--data-dir', dataDir], { env });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

function nextMessage(client: MqttClient, prefix: string, timeoutMs = 15_000): Promise<{ topic: string; payload: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${prefix}… within ${timeoutMs} ms`)), timeoutMs);
    const listener = (topic: string, payload: Buffer) => {
      if (!topic.startsWith(prefix)) return;
      clearTimeout(timer);
      client.removeListener('message', listener);
      resolve({ topic, payload: payload.toString() });
    };
    client.on('message', listener);
  });
}

before(start);
after(async () => {
  for (const client of clients) client.end(true);
  await stopQuietly(hub);
  dir.remove();
});

describe('twins through kill -9 of the hub (MQTT)', () => {
  it('keeps every reported patch answered 204 before the kill, in order', async () => {
    const device = await addIdentity(dataDir, env, 'writer');
    const client = await connect(device, true);
    await client.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    let acked = -1;
    let killed = false;
    let sent = 0;
    const WINDOW = 16;
    const done = new Promise<void>((resolve, reject) => {
      client.on('message', (topic) => {
        const match = /^\$iothub\/twin\/res\/(\d+)\/\?\$rid=(\d+)&\$version=(\d+)$/.exec(topic);
        if (match === null) return reject(new Error(`unexpected response ${topic}`));
        const [status, rid, version] = [Number(match[1]), Number(match[2]), Number(match[3])];
        if (status !== 204 || version !== rid + 2) return reject(new Error(`patch ${rid}: status ${status}, version ${version}`));
        if (rid !== acked + 1) return reject(new Error(`answer ${rid} after ${acked}: out of order`));
        acked = rid;
        if (acked >= 150 && !killed) {
          killed = true;
          resolve();
          return;
        }
        if (!killed) client.publish(`$iothub/twin/PATCH/properties/reported/?$rid=${sent}`, JSON.stringify({ n: sent++, pad: 'p'.repeat(200) }), { qos: 0 });
      });
    });
    for (let i = 0; i < WINDOW; i++) client.publish(`$iothub/twin/PATCH/properties/reported/?$rid=${sent}`, JSON.stringify({ n: sent++, pad: 'p'.repeat(200) }), { qos: 0 });
    await done;
    // Killed with patches still in flight behind the last answer.
    await kill();
    const lastAcked = acked;
    await start();
    const twin = await twinCli(['show', 'writer']);
    const reported = twin.properties.reported as { n: number; $version: number };
    assert.ok(reported.n >= lastAcked, `patch ${lastAcked} was answered, the twin has ${reported.n}`);
    assert.ok(reported.n < sent);
    assert.equal(reported.$version, reported.n + 2, 'one version per patch, none lost in between');
  });

  it('sends a persistent session that reconnects without subscribing the desired changes it missed, across a kill', async () => {
    const device = await addIdentity(dataDir, env, 'reader');
    const first = await connect(device, false);
    await first.subscribeAsync(['$iothub/twin/res/#', '$iothub/twin/PATCH/properties/desired/#'], { qos: 0 });
    const got = nextMessage(first, '$iothub/twin/res/200/');
    first.publish('$iothub/twin/GET/?$rid=1', ' ', { qos: 0 });
    assert.deepEqual(JSON.parse((await got).payload), { desired: { $version: 1 }, reported: { $version: 1 } });
    await first.endAsync();
    clients.delete(first);

    assert.deepEqual(await twinCli(['update-desired', 'reader', '--patch', '{"a": 1, "keep": {"x": 1, "y": 2}}']), { version: 2 });
    const second = await connect(device, false);
    const missed = await nextMessage(second, '$iothub/twin/PATCH/properties/desired/');
    assert.equal(missed.topic, '$iothub/twin/PATCH/properties/desired/?$version=2');
    assert.deepEqual(JSON.parse(missed.payload), { a: 1, keep: { x: 1, y: 2 }, $version: 2 });
    // Connected: a change arrives at once.
    const live = nextMessage(second, '$iothub/twin/PATCH/properties/desired/');
    await twinCli(['update-desired', 'reader', '--patch', '{"b": 2}']);
    assert.deepEqual(JSON.parse((await live).payload), { b: 2, $version: 3 });
    await second.endAsync();
    clients.delete(second);

    await twinCli(['update-desired', 'reader', '--patch', '{"a": null, "keep": {"y": 3}}']);
    await kill();
    await start();
    await twinCli(['update-desired', 'reader', '--patch', '{"c": 4}']);
    const third = await connect(device, false);
    const afterKill = await nextMessage(third, '$iothub/twin/PATCH/properties/desired/');
    assert.equal(afterKill.topic, '$iothub/twin/PATCH/properties/desired/?$version=5');
    assert.deepEqual(JSON.parse(afterKill.payload), { a: null, keep: { y: 3 }, c: 4, $version: 5 });
  });
});
