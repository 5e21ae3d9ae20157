/**
 * Twins with the Azure IoT device SDK across a hub restart: the reported properties are still
 * there, and a desired change made while the client was away reaches the same
 * `twin.on('properties.desired')` once the SDK has reconnected by itself; with no hub, the CLI
 * says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runOutpost } from '../helpers/outpost-process.js';
import { connectionString, dataDir, desiredWhere, env, open, setUp, startOn, state, tearDown, twinCli, update } from './twin-sdk-harness.js';

before(setUp);
after(tearDown);

describe('twins with the Azure IoT device SDK across a hub restart', () => {
  it('keeps reported properties across a hub restart and sends a desired change made while the client was away', async () => {
    // The SDK reconnects by itself (its twin has a desired listener), so the hub comes back on the
    // port it had; the change is made as soon as the hub is up, before or after the SDK is back:
    // either way it must reach the same twin object.
    const device = await open('device', await connectionString(['dev1']));
    const deviceTwin = await device.getTwin();
    await update(deviceTwin, { firmware: '1.0' });
    const received0 = desiredWhere(deviceTwin, (patch) => patch.mode === 'fast');
    assert.deepEqual((await twinCli(['update-desired', 'dev1', '--patch', '{"interval": 30, "mode": "fast"}'])).json, { version: 2 });
    await received0;
    const previousPort = state.port;
    state.outpost!.child.kill('SIGTERM');
    assert.equal(await state.outpost!.exited(), 0);
    // The hub comes back at once: every second it is down lengthens the SDK's reconnect backoff
    // (a CLI call here, 5-10 s under load, once left the SDK waiting past the file's timeout).
    // The CLI's answer with no hub is asserted after the restart test, on the stopped hub.
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
    assert.deepEqual(shown.json.properties.reported, { firmware: '1.0', $version: 2 });
    // And the reconnected client works as before.
    await update(deviceTwin, { afterRestart: 1 });
    assert.equal((await twinCli(['show', 'dev1'])).json.properties.reported.$version, 3);
    await device.close();
    state.outpost!.child.kill('SIGTERM');
    assert.equal(await state.outpost!.exited(), 0);
    const noHub = await runOutpost(['twin', 'show', 'dev1', '--data-dir', dataDir], { env });
    assert.equal(noHub.code, 1);
    assert.match(noHub.stderr, /OUTPOST_HUB_NOT_RUNNING/);
  });
});
