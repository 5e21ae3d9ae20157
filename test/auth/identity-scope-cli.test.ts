/** `outpost identity scope` through the real binary: an edge device's scope with its auth chains, keys never printed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { runOutpost } from '../helpers/outpost-process.js';
import { tempDir } from './auth-test-helpers.js';

describe('outpost identity scope', () => {
  it('lists the identities below an edge device with their chains, and refuses a device that is not an edge device', async (t) => {
    const dataDir = tempDir(t);
    const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: 'root' });
    registry.add({ deviceId: 'child-edge', edge: true });
    const dev1 = registry.add({ deviceId: 'dev1', parentDeviceId: 'child-edge' });
    registry.add({ deviceId: 'dev1', moduleId: 'm' });
    registry.add({ deviceId: 'g', edge: true, parentDeviceId: 'child-edge' });
    registry.add({ deviceId: 'dev2', parentDeviceId: 'g', authentication: { type: 'none' } });
    registry.add({ deviceId: 'other', edge: true });
    registry.add({ deviceId: 'devX', parentDeviceId: 'other' });
    const run = (...args: string[]) => runOutpost(['identity', ...args, '--data-dir', dataDir, '--set', 'deviceId=root', '--set', 'iotHubHostname=h.azure-devices.net']);
    const table = await run('scope', 'child-edge');
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(
      table.stdout.trim().split('\n').map((line) => line.split(/\s{2,}/)),
      [
        ['ID', 'AUTH', 'STATUS', 'AUTH CHAIN'],
        ['child-edge', 'sas', 'enabled', 'child-edge;root'],
        ['dev1', 'sas', 'enabled', 'dev1;child-edge;root'],
        ['dev1/m', 'sas', 'enabled', 'dev1/m;dev1;child-edge;root'],
        ['dev2', 'none', 'enabled', 'dev2;g;child-edge;root'],
        ['g', 'sas', 'enabled', 'g;child-edge;root'],
      ],
    );
    const json = await run('scope', 'g', '--json');
    assert.deepEqual(JSON.parse(json.stdout), [
      { id: 'dev2', auth: 'none', status: 'enabled', authChain: 'dev2;g;child-edge;root' },
      { id: 'g', auth: 'sas', status: 'enabled', authChain: 'g;child-edge;root' },
    ]);
    assert.ok(!table.stdout.includes((dev1.authentication as { primaryKey: string }).primaryKey));
    const refused = await run('scope', 'dev1');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /OUTPOST_IDENTITY_INVALID: dev1 is not an edge device/);
  });
});
