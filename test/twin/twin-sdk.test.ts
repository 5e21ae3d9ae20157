/**
 * Twins end to end with the real Azure IoT device SDK for Node over MQTT on TLS, against a real
 * hub process: GET, reported patches (acknowledged once durable), desired properties set by the
 * operator (`outpost twin update-desired`) reaching `twin.on('properties.desired')` for a device
 * and a module; after a hub restart the reported properties are still there and a desired change
 * made while the client was away arrives when it reconnects; twin change notifications routed to
 * a module input; bad patches answered with status 400 while the connection keeps working.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentity, connectIdentity } from '../store/iot-clients.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };

const EDGE = 'edge-1';
const HUB = 'twinhub.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-twin-');
const dataDir = join(dir.path, 'data');
const manifest = join(dir.path, 'deployment.json');
let outpost: OutpostProcess | undefined;
let port = 0;
let ca = '';
const clients: { close(): Promise<unknown> }[] = [];

async function start(): Promise<void> {
  await startOn(0);
}

/** Starts the hub; a restart reuses the port it had, so the SDK's own reconnect finds it. */
async function startOn(mqttPort: number): Promise<void> {
  const started = await startHub({ dataDir, args: ['--deployment', manifest, '--mqtt-port', String(mqttPort)], env });
  outpost = started.outpost;
  port = started.ports.mqtt!;
  ca = readFileSync(String(started.ready.caFile), 'utf8');
}

async function twinCli(args: string[]): Promise<{ code: number | string; json: any; stderr: string }> {
  const result = await runOutpost(['twin', ...args, '--data-dir', dataDir], { env });
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { code: result.code, json, stderr: result.stderr };
}

async function connectionString(args: string[]): Promise<string> {
  const result = await runOutpost(['identity', 'connection-string', ...args, '--data-dir', dataDir, '--gateway-hostname', 'localhost'], { env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim().replace(/GatewayHostName=[^;]+/, `GatewayHostName=localhost:${port}`);
}

async function open(kind: 'device' | 'module', cs: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(cs, Mqtt);
  await client.setOptions({ ca });
  await client.open();
  clients.push(client);
  return client;
}

/** Resolves with the first desired patch for which `accept` holds. */
function desiredWhere(twin: any, accept: (patch: any) => boolean, timeoutMs = 15_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      twin.removeListener('properties.desired', listener);
      reject(new Error(`no matching desired patch within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (patch: any) => {
      if (!accept(patch)) return;
      clearTimeout(timer);
      twin.removeListener('properties.desired', listener);
      resolve(patch);
    };
    twin.on('properties.desired', listener);
  });
}

function update(twin: any, patch: unknown): Promise<void> {
  return new Promise((resolve, reject) => twin.properties.reported.update(patch, (error: unknown) => (error ? reject(error) : resolve())));
}

before(async () => {
  writeFileSync(manifest, hubManifest({ twinsToSink: 'FROM /twinChangeNotifications INTO BrokeredEndpoint("/modules/sink/inputs/twins")' }));
  for (const args of [['dev1'], [EDGE, '--module', 'filter']]) {
    const added = await runOutpost(['identity', 'add', ...args, '--data-dir', dataDir], { env });
    assert.equal(added.code, 0, added.stderr);
  }
  await start();
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopQuietly(outpost);
  dir.remove();
});

describe('twins with the Azure IoT device SDK (MQTT over TLS)', () => {
  let device: any;
  let deviceTwin: any;
  let moduleTwin: any;

  it('gets the twin, patches reported properties, and receives desired changes made with the CLI (device and module)', async () => {
    device = await open('device', await connectionString(['dev1']));
    deviceTwin = await device.getTwin();
    assert.equal(deviceTwin.properties.desired.$version, 1);
    await update(deviceTwin, { firmware: '1.0', status: { state: 'ready', temperature: 21.5 } });
    await update(deviceTwin, { status: { temperature: null } });

    const shown = await twinCli(['show', 'dev1']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(shown.json.properties.reported, { firmware: '1.0', status: { state: 'ready' }, $version: 3 });

    const received = desiredWhere(deviceTwin, (patch) => patch.interval === 30);
    const updated = await twinCli(['update-desired', 'dev1', '--patch', '{"interval": 30, "mode": "fast"}']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(updated.json, { version: 2 });
    const patch = await received;
    assert.deepEqual(patch, { interval: 30, mode: 'fast', $version: 2 });

    const module = await open('module', await connectionString([EDGE, '--module', 'filter']));
    moduleTwin = await module.getTwin();
    await update(moduleTwin, { filterReady: true });
    const moduleReceived = desiredWhere(moduleTwin, (p) => p.threshold === 7);
    const moduleUpdated = await twinCli(['update-desired', `${EDGE}/filter`, '--patch', '{"threshold": 7}']);
    assert.equal(moduleUpdated.code, 0, moduleUpdated.stderr);
    assert.deepEqual(await moduleReceived, { threshold: 7, $version: 2 });
    const moduleShown = await twinCli(['show', `${EDGE}/filter`]);
    assert.deepEqual(moduleShown.json.properties.reported, { filterReady: true, $version: 2 });
    assert.equal(moduleShown.json.moduleId, 'filter');
  });

  it('answers bad patches with 400 and a reason, changes nothing, and keeps the connection working', async () => {
    await assert.rejects(update(deviceTwin, { 'bad.key': 1 }), /bad\.key/);
    await assert.rejects(update(deviceTwin, { big: 'x'.repeat(5000) }), /4096/);
    let deep: any = { leaf: 1 };
    for (let i = 0; i < 11; i++) deep = { nested: deep };
    await assert.rejects(update(deviceTwin, deep), /deeper than 10/);
    await update(deviceTwin, { afterErrors: 'ok' });
    const shown = await twinCli(['show', 'dev1']);
    assert.deepEqual(shown.json.properties.reported, { firmware: '1.0', status: { state: 'ready' }, afterErrors: 'ok', $version: 4 });

    const unknown = await twinCli(['show', 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404 .*nobody.*OUTPOST_TWIN_NOT_FOUND/);
    const invalid = await twinCli(['update-desired', 'dev1', '--patch', '{"$version": 9}']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /400 .*OUTPOST_TWIN_PATCH_INVALID/);
    const notJson = await twinCli(['update-desired', 'dev1', '--patch', '{nope']);
    assert.match(notJson.stderr, /400 .*not valid JSON/);
  });

  it('routes twin change notifications with FROM /twinChangeNotifications to a module input', async () => {
    const sinkIdentity = await addIdentity(dataDir, env, EDGE, 'sink');
    const sink = await connectIdentity(HUB, port, ca, sinkIdentity);
    try {
      const got = new Promise<{ topic: string; body: any }>((resolve) =>
        sink.on('message', (topic, payload) => {
          const body = JSON.parse(payload.toString());
          if (body.properties?.reported?.routed === 'yes') resolve({ topic, body });
        }),
      );
      await sink.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
      await update(deviceTwin, { routed: 'yes' });
      const { topic, body } = await got;
      assert.match(topic, /^devices\/edge-1\/modules\/sink\/inputs\/twins\//);
      assert.match(decodeURIComponent(topic), /iothub-message-schema=twinChangeNotification/);
      assert.match(decodeURIComponent(topic), /opType=updateTwin/);
      assert.match(topic, /%24\.cdid=dev1/);
      assert.deepEqual(body.properties.reported, { routed: 'yes', $version: 5 });
    } finally {
      sink.end(true);
    }
  });

  it('keeps reported properties across a hub restart and sends a desired change made while the client was away', async () => {
    // The SDK reconnects by itself (its twin has a desired listener), so the hub comes back on the
    // port it had; the change is made as soon as the hub is up, before or after the SDK is back:
    // either way it must reach the same twin object.
    const previousPort = port;
    outpost!.child.kill('SIGTERM');
    assert.equal(await outpost!.exited(), 0);
    await startOn(previousPort);
    const received = desiredWhere(deviceTwin, (patch) => patch.restarted === true, 90_000);
    const updated = await twinCli(['update-desired', 'dev1', '--patch', '{"mode": null, "restarted": true}']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(updated.json, { version: 3 });
    await received;
    assert.equal(deviceTwin.properties.desired.restarted, true);
    assert.equal(deviceTwin.properties.desired.mode, undefined, 'the removal reached the client too');
    assert.equal(deviceTwin.properties.desired.interval, 30);
    const shown = await twinCli(['show', 'dev1']);
    assert.deepEqual(shown.json.properties.reported, { firmware: '1.0', status: { state: 'ready' }, afterErrors: 'ok', routed: 'yes', $version: 5 });
    // And the reconnected client works as before.
    await update(deviceTwin, { afterRestart: 1 });
    assert.equal((await twinCli(['show', 'dev1'])).json.properties.reported.$version, 6);
  });
});
