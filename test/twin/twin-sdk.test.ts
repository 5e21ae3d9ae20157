/**
 * Twins end to end with the real Azure IoT device SDK for Node over MQTT on TLS, against a real
 * hub process: GET, reported patches (acknowledged once durable), desired properties set by the
 * operator (`outpost twin update-desired`) reaching `twin.on('properties.desired')` for a device
 * and a module.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectionString, dataDir, desiredWhere, EDGE, open, setUp, tearDown, twinCli, update } from './twin-sdk-harness.js';

before(setUp);
after(tearDown);

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
    assert.equal(statSync(join(dataDir, 'hub.sock')).mode & 0o777, 0o600, 'the control socket is for its owner only');
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
});
