/**
 * `outpost store backup` / `restore` (issue 15): a hub with messages queued for a module that is
 * away is stopped and backed up; the backup is restored into a fresh data directory and a hub
 * started there delivers every queued message, in order, to the module (whose identity and the
 * gateway's CA came back with the backup). A backup of a running hub is refused, and so is a
 * restore over a data directory that is not empty.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runOutpost, spawnOutpost, stopQuietly, tempDir, type HubPorts, type OutpostProcess } from '../helpers/outpost-process.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { addIdentity, connectIdentity } from './iot-clients.js';

const EDGE = 'edge-1';
const HUB = 'backuphub.azure-devices.net';
const COUNT = 400;
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB, OUTPOST_STORE__RETRY_INTERVAL_MAX: '100ms' };

describe('backup and restore of the data directory', () => {
  const dir = tempDir('outpost-store-backup-');
  const running: OutpostProcess[] = [];
  const clients: MqttClient[] = [];
  after(async () => {
    for (const client of clients) client.end(true);
    await Promise.all(running.map(stopQuietly));
    dir.remove();
  });

  async function hub(dataDir: string, manifest: string): Promise<{ outpost: OutpostProcess; port: number; ca: string }> {
    const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', manifest], {
      env: { ...process.env, ...env } as Record<string, string>,
    });
    running.push(outpost);
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', 60_000);
    return { outpost, port: (ready.ports as HubPorts).mqtt!, ca: readFileSync(String(ready.caFile), 'utf8') };
  }

  it('restores a stopped hub with queued messages into a fresh data directory, and every message is delivered', async () => {
    const dataDir = join(dir.path, 'data');
    const manifest = join(dir.path, 'deployment.json');
    writeFileSync(manifest, hubManifest({ r: 'FROM /messages/modules/sensor/outputs/out INTO BrokeredEndpoint("/modules/sink/inputs/in")' }));
    const sensor = await addIdentity(dataDir, env, EDGE, 'sensor');
    const sink = await addIdentity(dataDir, env, EDGE, 'sink');

    const first = await hub(dataDir, manifest);
    const publisher = await connectIdentity(HUB, first.port, first.ca, sensor);
    clients.push(publisher);
    // Acknowledged by the hub = written to the store; the sink is not connected, so all stay queued.
    await Promise.all(Array.from({ length: COUNT }, (_, n) => publisher.publishAsync(`devices/${EDGE}/modules/sensor/messages/events/%24.on=out`, String(n), { qos: 1 })));
    publisher.end(true);

    const backupDir = join(dir.path, 'backup');
    const whileRunning = await runOutpost(['store', 'backup', backupDir, '--data-dir', dataDir], { timeoutMs: 60_000 });
    assert.equal(whileRunning.code, 2, whileRunning.stderr);
    assert.match(whileRunning.stderr, /OUTPOST_STORE_BACKUP_FAILED: .* is in use by a running Outpost: stop it first/);
    assert.ok(!existsSync(join(backupDir, 'backup.json')), 'no backup of a running hub');

    first.outpost.child.kill('SIGTERM');
    assert.equal(await first.outpost.exited(30_000), 0);
    const backup = await runOutpost(['store', 'backup', backupDir, '--data-dir', dataDir], { timeoutMs: 60_000 });
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok(existsSync(join(backupDir, 'backup.json')));

    const restored = join(dir.path, 'restored');
    const restore = await runOutpost(['store', 'restore', backupDir, '--data-dir', restored], { timeoutMs: 60_000 });
    assert.equal(restore.code, 0, restore.stderr);
    const again = await runOutpost(['store', 'restore', backupDir, '--data-dir', restored], { timeoutMs: 60_000 });
    assert.equal(again.code, 2, 'a restore never overwrites a data directory');
    assert.match(again.stderr, /OUTPOST_STORE_BACKUP_FAILED: the data directory .* is not empty/);

    const second = await hub(restored, manifest);
    assert.equal(second.ca, first.ca, 'the gateway CA came back with the backup');
    const receiver = await connectIdentity(HUB, second.port, second.ca, sink);
    clients.push(receiver);
    const received: number[] = [];
    const allThere = new Promise<void>((resolve) => {
      receiver.on('message', (_topic, payload) => {
        received.push(Number(payload.toString()));
        if (received.length >= COUNT) resolve();
      });
    });
    await receiver.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
    await Promise.race([allThere, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${received.length} of ${COUNT} delivered`)), 60_000))]);
    assert.deepEqual(received.slice(0, COUNT), Array.from({ length: COUNT }, (_, n) => n), 'every queued message, in order');
    second.outpost.child.kill('SIGTERM');
    assert.equal(await second.outpost.exited(30_000), 0);
  });
});
