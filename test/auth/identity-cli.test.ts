/** `outpost identity …` through the real binary, against a registry in a temporary data directory. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdentityAuthenticator, IdentityRegistry } from '../../src/hub/auth/index.js';
import { runOutpost } from '../helpers/outpost-process.js';
import { sasToken, tempDir } from './auth-test-helpers.js';

const HUB = 'plant7.azure-devices.net';
const GATEWAY = 'gw.plant7.local';

function cli(dataDir: string) {
  return (...args: string[]) => runOutpost(['identity', ...args, '--data-dir', dataDir, '--gateway-hostname', GATEWAY, '--set', `iotHubHostname=${HUB}`, '--set', 'deviceId=edge7']);
}

const keyIn = (connectionString: string) => /SharedAccessKey=([^;]+)/.exec(connectionString)?.[1];

describe('outpost identity', () => {
  it('adds devices and modules and prints a connection string through this gateway', async (t) => {
    const run = cli(tempDir(t));
    const added = await run('add', 'press-1');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^added device press-1 \(sas, parent edge7\)$/m);
    assert.match(added.stdout, new RegExp(`^connection string: HostName=${HUB};DeviceId=press-1;SharedAccessKey=[A-Za-z0-9+/]{43}=;GatewayHostName=${GATEWAY}$`, 'm'));
    const module = await run('add', 'press-1', '--module', 'vision');
    assert.equal(module.code, 0, module.stderr);
    assert.match(module.stdout, new RegExp(`HostName=${HUB};DeviceId=press-1;ModuleId=vision;SharedAccessKey=`));
    const printed = await run('connection-string', 'press-1');
    assert.equal(printed.stdout.trim(), /connection string: (.*)/.exec(added.stdout)![1]);
  });

  it('lists as a table and as JSON with keys masked; show masks unless --show-keys', async (t) => {
    const run = cli(tempDir(t));
    const edge = await run('add', 'edge-child', '--edge');
    // An edge device comes with its system modules, as in IoT Hub.
    assert.match(edge.stdout, /^added module edge-child\/\$edgeAgent \(sas\)$/m);
    assert.match(edge.stdout, /^added module edge-child\/\$edgeHub \(sas\)$/m);
    await run('add', 'leaf', '--parent', 'edge-child', '--auth', 'self-signed', '--primary-thumbprint', 'ab:'.repeat(19) + 'ab');
    await run('add', 'orphan', '--no-parent', '--auth', 'ca');
    const table = await run('list');
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(
      table.stdout.trim().split('\n').map((line) => line.split(/\s{2,}/)),
      [
        ['ID', 'KIND', 'AUTH', 'STATUS', 'PARENT', 'SOURCE'],
        ['edge-child', 'edge device', 'sas', 'enabled', 'edge7', 'local'],
        ['edge-child/$edgeAgent', 'module', 'sas', 'enabled', '-', 'local'],
        ['edge-child/$edgeHub', 'module', 'sas', 'enabled', '-', 'local'],
        ['leaf', 'device', 'selfSigned', 'enabled', 'edge-child', 'local'],
        ['orphan', 'device', 'certificateAuthority', 'enabled', '-', 'local'],
      ],
    );
    const json = JSON.parse((await run('list', '--json')).stdout) as { deviceId: string; moduleId?: string; authentication: Record<string, string> }[];
    const entry = (deviceId: string) => json.find((r) => r.deviceId === deviceId && r.moduleId === undefined)!;
    assert.deepEqual(entry('edge-child').authentication, { type: 'sas', primaryKey: '***', secondaryKey: '***' });
    assert.equal(entry('leaf').authentication.primaryThumbprint, 'AB'.repeat(20));
    const shown = JSON.parse((await run('show', 'edge-child')).stdout) as { authentication: Record<string, string> };
    assert.equal(shown.authentication.primaryKey, '***');
    const withKeys = JSON.parse((await run('show', 'edge-child', '--show-keys')).stdout) as { authentication: Record<string, string> };
    assert.equal(withKeys.authentication.primaryKey, keyIn((await run('connection-string', 'edge-child')).stdout));
    assert.match((await run('connection-string', 'leaf')).stdout, /DeviceId=leaf;x509=true;GatewayHostName=/);
  });

  it('rotates keys so the old connection string stops working, and swaps them', async (t) => {
    const dataDir = tempDir(t);
    const run = cli(dataDir);
    await run('add', 'robot');
    const before = keyIn((await run('connection-string', 'robot')).stdout)!;
    const secondary = keyIn((await run('connection-string', 'robot', '--key', 'secondary')).stdout)!;
    assert.notEqual(before, secondary);
    const swapped = await run('rotate-keys', 'robot', '--key-type', 'swap');
    assert.equal(swapped.code, 0, swapped.stderr);
    assert.equal(keyIn((await run('connection-string', 'robot')).stdout), secondary);
    const rotated = await run('rotate-keys', 'robot', '--key-type', 'both');
    assert.match(rotated.stdout, /regenerated the primary and secondary keys of robot/);
    const after = keyIn((await run('connection-string', 'robot')).stdout)!;
    assert.ok(after !== before && after !== secondary);

    const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: 'edge7' });
    const authenticator = new IdentityAuthenticator({ registry, iotHubHostname: HUB, gatewayHostname: GATEWAY });
    const expirySec = Math.floor(Date.now() / 1000) + 3600;
    assert.ok(authenticator.verifySasToken(sasToken({ key: after, deviceId: 'robot', host: HUB, expirySec }), 'robot').ok);
    assert.ok(!authenticator.verifySasToken(sasToken({ key: before, deviceId: 'robot', host: HUB, expirySec }), 'robot').ok);
  });

  it('disables, enables and removes (a device with its modules)', async (t) => {
    const dataDir = tempDir(t);
    const run = cli(dataDir);
    await run('add', 'cam');
    await run('add', 'cam', '-m', 'detector');
    assert.equal((await run('disable', 'cam')).stdout.trim(), 'disabled cam');
    assert.equal(IdentityRegistry.open({ dataDir, edgeDeviceId: 'edge7' }).get('cam')!.status, 'disabled');
    assert.equal((await run('enable', 'cam')).stdout.trim(), 'enabled cam');
    const removed = await run('remove', 'cam');
    assert.equal(removed.stdout.trim(), 'removed cam, cam/detector');
    assert.equal(IdentityRegistry.open({ dataDir, edgeDeviceId: 'edge7' }).size, 0);
  });

  it('exits 2 with the error code on bad input, and changes nothing', async (t) => {
    const dataDir = tempDir(t);
    const run = cli(dataDir);
    await run('add', 'dup');
    const cases: [string[], RegExp][] = [
      [['add', 'bad/id'], /OUTPOST_IDENTITY_INVALID: bad\/id: device id/],
      [['add', 'dup'], /OUTPOST_IDENTITY_EXISTS/],
      [['add', 'x', '--primary-key', 'short'], /OUTPOST_IDENTITY_INVALID: x: authentication.primaryKey is not base64/],
      [['add', 'x', '--auth', 'self-signed'], /needs --primary-thumbprint/],
      [['add', 'x', '--auth', 'self-signed', '--primary-thumbprint', 'xyz'], /hex SHA-1/],
      [['add', 'x', '--parent', 'nobody'], /must be this edge device/],
      [['add', 'x', '--module', 'm'], /device x does not exist/],
      [['add', 'x', '--auth', 'magic'], /Allowed choices are sas, self-signed, ca, none/],
      [['show', 'ghost'], /OUTPOST_IDENTITY_NOT_FOUND/],
      [['remove', 'ghost'], /OUTPOST_IDENTITY_NOT_FOUND/],
      [['rotate-keys', 'dup'], /required option '--key-type/],
      [['connection-string', 'dup', '--key', 'tertiary'], /Allowed choices are primary, secondary/],
    ];
    for (const [args, stderr] of cases) {
      const result = await run(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, stderr, args.join(' '));
    }
    assert.deepEqual(IdentityRegistry.open({ dataDir, edgeDeviceId: 'edge7' }).list().map((r) => r.deviceId), ['dup']);
    const config = await runOutpost(['identity', 'list', '--data-dir', dataDir, '--set', 'auth.sasClockSkew=soon']);
    assert.equal(config.code, 2);
    assert.match(config.stderr, /auth\.sasClockSkew/);
  });

  it('shows its commands in --help', async () => {
    const help = await runOutpost(['identity', '--help']);
    assert.equal(help.code, 0);
    for (const command of ['add', 'list', 'show', 'remove', 'rotate-keys', 'connection-string', 'enable', 'disable']) assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
  });
});
