/**
 * `outpost store delivery`: how each endpoint's delivery stands in the running hub, asked over its
 * control socket — messages routed to a module that is not connected wait there, and are gone
 * once it connects and takes them; without a running hub the command says so.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import { runOutpost, stopQuietly, tempDir } from '../helpers/outpost-process.js';
import { addIdentities, connectSas, startSasHub, type SasHub } from '../helpers/sas-hub.js';

const EDGE = 'edge-d';
const HUB = 'delivery.azure-devices.net';
const INPUT = '/modules/worker/inputs/in';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };

interface Delivery {
  endpoint: string;
  inflight: number;
  retrying: boolean;
  heldSources: number;
  streams: { tail: number; doneUpTo: number; parked: number }[];
}

const waiting = (d: Delivery | undefined) => (d === undefined ? -1 : d.streams.reduce((total, s) => total + s.tail - s.doneUpTo, 0));

describe('outpost store delivery', () => {
  const dir = tempDir('outpost-store-delivery-');
  const dataDir = join(dir.path, 'data');
  const site = { dataDir, hub: HUB, env };
  let hub: SasHub | undefined;
  const clients: mqtt.MqttClient[] = [];

  before(async () => {
    const configFile = join(dir.path, 'outpost.yaml');
    writeFileSync(configFile, `routes:\n  toWorker: FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("${INPUT}")\n`);
    await addIdentities(site, [['sensor-1'], [EDGE, '--module', 'worker']]);
    hub = await startSasHub(site, 'hub', ['--config', configFile]);
  });

  after(async () => {
    for (const client of clients) await client.endAsync(true);
    await stopQuietly(hub?.outpost);
    dir.remove();
  });

  async function delivery(): Promise<Delivery[]> {
    const result = await runOutpost(['store', 'delivery', '--json', '--data-dir', dataDir], { env });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Delivery[];
  }

  it('shows what waits for a module that is not connected, and that nothing does once it took it', async () => {
    const sensor = await connectSas(hub!, site, 'sensor-1');
    clients.push(sensor);
    for (let i = 0; i < 7; i++) await sensor.publishAsync('devices/sensor-1/messages/events/', `m${i}`, { qos: 1 });
    const before = (await delivery()).find((d) => d.endpoint === INPUT);
    assert.equal(waiting(before), 7, JSON.stringify(before));
    assert.equal(before!.inflight, 0, 'nothing can be in flight to a module that is not there');

    const text = await runOutpost(['store', 'delivery', '--data-dir', dataDir], { env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ENDPOINT\s+WAITING\s+IN FLIGHT\s+BACKING OFF\s+HELD SENDERS\s+PARKED$/m);
    assert.match(text.stdout, new RegExp(`^${INPUT.replaceAll('/', '\\/')}\\s+7\\s+0\\s+(yes|no)\\s+0\\s+0$`, 'm'));

    const worker = await connectSas(hub!, site, EDGE, 'worker');
    clients.push(worker);
    let received = 0;
    worker.on('message', () => (received += 1));
    await worker.subscribeAsync(`devices/${EDGE}/modules/worker/#`, { qos: 1 });
    // Polled: each look is a CLI run against the hub.
    let left = -1;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
      left = waiting((await delivery()).find((d) => d.endpoint === INPUT));
      if (received >= 7 && left === 0) break;
    }
    assert.equal(received, 7, 'the worker got the 7 messages');
    assert.equal(left, 0, 'nothing waits once they are acknowledged');
  });

  it('says that no hub is running on the data directory', async () => {
    const result = await runOutpost(['store', 'delivery', '--data-dir', join(dir.path, 'no-hub')], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /OUTPOST_HUB_NOT_RUNNING/);
  });
});
