/**
 * Routes change while the hub runs: `outpost deploy` with a new $edgeHub part swaps the route
 * table without a restart, and messages accepted before the change are still delivered.
 */
import assert from 'node:assert/strict';
import { hubManifest } from '../helpers/hub-manifest.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { runOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentities, connectSas, startSasHub, type SasHub } from '../helpers/sas-hub.js';

const EDGE = 'edge-r';
const HUB = 'routes.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-reroute-');
const dataDir = join(dir.path, 'data');
const site = { dataDir, hub: HUB, env };
let hub: SasHub | undefined;
let outpost: OutpostProcess | undefined;

function manifest(input: string): string {
  return hubManifest({ toWorker: `FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/worker/inputs/${input}")` });
}

const connect = (deviceId: string, moduleId: string | undefined): Promise<mqtt.MqttClient> => connectSas(hub!, site, deviceId, moduleId);

before(async () => {
  const file = join(dir.path, 'deployment.json');
  writeFileSync(file, manifest('first'));
  await addIdentities(site, [['sensor-1'], [EDGE, '--module', 'worker']]);
  hub = await startSasHub(site, 'run', ['--deployment', file]);
  outpost = hub.outpost;
});

after(async () => {
  await stopQuietly(outpost);
  dir.remove();
});

describe('replacing routes at run time', () => {
  it('takes a new route table from `outpost deploy` without a restart and without losing accepted messages', async () => {
    const worker = await connect(EDGE, 'worker');
    const received: string[] = [];
    const waiters: (() => void)[] = [];
    worker.on('message', (topic, payload) => {
      received.push(`${topic.split('/')[5]}:${payload.toString()}`);
      for (const wake of waiters.splice(0)) wake();
    });
    await worker.subscribeAsync(`devices/${EDGE}/modules/worker/#`, { qos: 1 });
    const until = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${received.length} of ${n}: ${received.join(' ')}`)), 15_000);
        const check = () => (received.length >= n ? (clearTimeout(timer), resolve()) : waiters.push(check));
        check();
      });
    const sensor = await connect('sensor-1', undefined);
    for (let i = 0; i < 20; i++) await sensor.publishAsync('devices/sensor-1/messages/events/', `a${i}`, { qos: 1 });

    const next = join(dir.path, 'next.json');
    writeFileSync(next, manifest('second'));
    const deployed = await runOutpost(['deploy', next, '--data-dir', dataDir], { env });
    assert.equal(deployed.code, 0, deployed.stderr);
    await outpost!.waitFor((l) => l.event === 'hub.routes_replaced');
    for (let i = 0; i < 20; i++) await sensor.publishAsync('devices/sensor-1/messages/events/', `b${i}`, { qos: 1 });

    await until(40);
    assert.deepEqual(received.filter((r) => r.startsWith('first:')).map((r) => r.slice(6)), Array.from({ length: 20 }, (_, i) => `a${i}`));
    assert.deepEqual(received.filter((r) => r.startsWith('second:')).map((r) => r.slice(7)), Array.from({ length: 20 }, (_, i) => `b${i}`));
    await Promise.all([sensor.endAsync(), worker.endAsync()]);
  });
});
