import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OutpostError } from '../../src/errors/index.js';
import { generateKey, identitiesFile, IdentityRegistry, type IdentityRecord } from '../../src/hub/auth/index.js';
import { EDGE, openRegistry } from './auth-test-helpers.js';

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof OutpostError, String(error));
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

describe('identity registry', () => {
  it('adds a device with generated 32-byte keys, this edge device as parent, enabled', (t) => {
    const { registry } = openRegistry(t);
    const record = registry.add({ deviceId: 'dev1' });
    assert.equal(record.status, 'enabled');
    assert.equal(record.parentDeviceId, EDGE);
    assert.equal(record.source, 'local');
    assert.equal(record.authentication.type, 'sas');
    if (record.authentication.type === 'sas') {
      assert.equal(Buffer.from(record.authentication.primaryKey, 'base64').length, 32);
      assert.notEqual(record.authentication.primaryKey, record.authentication.secondaryKey);
    }
    assert.match(record.generationId, /^[0-9a-f-]{36}$/);
  });

  it('persists every change atomically, mode 0600, and reloads it on open', (t) => {
    const { registry, dataDir } = openRegistry(t);
    registry.add({ deviceId: 'dev1' });
    registry.add({ deviceId: 'dev1', moduleId: 'mod1' });
    registry.add({ deviceId: 'edge2', edge: true });
    registry.add({ deviceId: 'leaf', parentDeviceId: 'edge2', authentication: { type: 'selfSigned', primaryThumbprint: 'AB'.repeat(20) } });
    const file = identitiesFile(dataDir);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dataDir, 'identities')), ['identities.json'], 'no temporary file is left behind');
    const reopened = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
    assert.deepEqual(reopened.list(), registry.list());
    assert.deepEqual(reopened.list().map((r) => [r.deviceId, r.moduleId]), [['dev1', undefined], ['dev1', 'mod1'], ['edge2', undefined], ['leaf', undefined]]);
    assert.equal(reopened.parentOf('leaf'), 'edge2');
  });

  it('refuses invalid ids, keys, thumbprints and relations, each with a clear error', (t) => {
    const { registry } = openRegistry(t);
    throwsCode(() => registry.add({ deviceId: 'a/b' }), 'OUTPOST_IDENTITY_INVALID', /device id/);
    throwsCode(() => registry.add({ deviceId: 'x'.repeat(129) }), 'OUTPOST_IDENTITY_INVALID');
    throwsCode(() => registry.add({ deviceId: 'é' }), 'OUTPOST_IDENTITY_INVALID');
    throwsCode(() => registry.add({ deviceId: 'd', authentication: { type: 'sas', primaryKey: 'not base64!' } }), 'OUTPOST_IDENTITY_INVALID', /primaryKey is not base64/);
    throwsCode(() => registry.add({ deviceId: 'd', authentication: { type: 'sas', primaryKey: Buffer.alloc(8).toString('base64') } }), 'OUTPOST_IDENTITY_INVALID', /16-64 bytes/);
    throwsCode(() => registry.add({ deviceId: 'd', authentication: { type: 'selfSigned', primaryThumbprint: 'abc' } }), 'OUTPOST_IDENTITY_INVALID', /SHA-1/);
    throwsCode(() => registry.add({ deviceId: 'd', moduleId: 'm' }), 'OUTPOST_IDENTITY_INVALID', /device d does not exist/);
    throwsCode(() => registry.add({ deviceId: 'd', parentDeviceId: 'nobody' }), 'OUTPOST_IDENTITY_INVALID', /must be this edge device/);
    registry.add({ deviceId: 'plain' });
    throwsCode(() => registry.add({ deviceId: 'd', parentDeviceId: 'plain' }), 'OUTPOST_IDENTITY_INVALID', /added with --edge/);
    registry.add({ deviceId: 'd' });
    throwsCode(() => registry.add({ deviceId: 'd', moduleId: 'm', authentication: { type: 'certificateAuthority' } }), 'OUTPOST_IDENTITY_INVALID', /modules authenticate/);
    throwsCode(() => registry.add({ deviceId: 'd' }), 'OUTPOST_IDENTITY_EXISTS');
    assert.deepEqual(registry.list().map((r) => r.deviceId), ['d', 'plain'], 'nothing invalid got in');
  });

  it('accepts every character IoT Hub allows in ids, and $edgeHub-style module ids', (t) => {
    const { registry, dataDir } = openRegistry(t);
    registry.add({ deviceId: "a-b.c+d%e_f#g*h?i!j(k)l,m:n=o@p$q'r" });
    registry.add({ deviceId: EDGE, moduleId: '$edgeHub' });
    assert.equal(IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE }).size, 2);
  });

  it('creates modules of this edge device on demand, without a device record, once', (t) => {
    const { registry } = openRegistry(t);
    const first = registry.ensureModule('filter');
    assert.equal(first.deviceId, EDGE);
    assert.equal(first.source, 'deployment');
    assert.deepEqual(registry.ensureModule('filter'), first);
  });

  it('rotates keys: one, both, or a swap; SAS identities only', (t) => {
    const { registry } = openRegistry(t);
    const keys = (r: IdentityRecord) => (r.authentication.type === 'sas' ? [r.authentication.primaryKey, r.authentication.secondaryKey] : []);
    const [p0, s0] = keys(registry.add({ deviceId: 'd' }));
    const [p1, s1] = keys(registry.rotateKeys('d', undefined, 'secondary'));
    assert.equal(p1, p0);
    assert.notEqual(s1, s0);
    const [p2, s2] = keys(registry.rotateKeys('d', undefined, 'swap'));
    assert.deepEqual([p2, s2], [s1, p1]);
    const [p3, s3] = keys(registry.rotateKeys('d', undefined, 'both'));
    assert.ok(p3 !== p2 && s3 !== s2);
    registry.add({ deviceId: 'c', authentication: { type: 'certificateAuthority' } });
    throwsCode(() => registry.rotateKeys('c', undefined, 'both'), 'OUTPOST_IDENTITY_INVALID', /not SAS keys/);
    throwsCode(() => registry.rotateKeys('nobody', undefined, 'both'), 'OUTPOST_IDENTITY_NOT_FOUND');
  });

  it('removes a device with its modules', (t) => {
    const { registry } = openRegistry(t);
    registry.add({ deviceId: 'd' });
    registry.add({ deviceId: 'd', moduleId: 'm1' });
    registry.add({ deviceId: 'd', moduleId: 'm2' });
    registry.add({ deviceId: 'e' });
    assert.deepEqual(registry.remove('d').map((r) => r.moduleId ?? '-').sort(), ['-', 'm1', 'm2']);
    assert.deepEqual(registry.list().map((r) => r.deviceId), ['e']);
    throwsCode(() => registry.remove('d'), 'OUTPOST_IDENTITY_NOT_FOUND');
  });

  it('bulk upserts from upstream: bad records rejected on their own, a full sync removes what is gone', (t) => {
    const { registry } = openRegistry(t);
    registry.add({ deviceId: 'local-dev' });
    const upstream = (deviceId: string, extra: Partial<IdentityRecord> = {}): IdentityRecord => ({
      deviceId,
      status: 'enabled',
      authentication: { type: 'sas', primaryKey: generateKey(), secondaryKey: generateKey() },
      generationId: `gen-${deviceId}`,
      source: 'upstream',
      ...extra,
    });
    const first = registry.upsertMany(
      [upstream('u1'), upstream('u1', { moduleId: 'm' }), upstream('u2'), upstream('bad/id'), upstream('u3', { parentDeviceId: 'missing' })],
      { source: 'upstream' },
    );
    assert.equal(first.added, 3);
    assert.deepEqual(first.rejected.map((r) => r.key).sort(), ['bad/id', 'u3']);
    const second = registry.upsertMany([upstream('u1')], { source: 'upstream', removeMissing: true });
    assert.equal(second.updated, 1);
    assert.equal(second.removed, 2);
    assert.deepEqual(registry.list().map((r) => r.deviceId), ['local-dev', 'u1'], 'local identities survive a full upstream sync');
  });

  it('sees changes another process made to the file, keeping revisions of unchanged identities', (t) => {
    const { registry, dataDir } = openRegistry(t);
    registry.add({ deviceId: 'a' });
    registry.add({ deviceId: 'b' });
    const revisionA = registry.entry('a')!.revision;
    const revisionB = registry.entry('b')!.revision;
    const cli = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
    cli.rotateKeys('b', undefined, 'both');
    cli.add({ deviceId: 'c' });
    assert.equal(registry.refresh(), true);
    assert.equal(registry.entry('a')!.revision, revisionA);
    assert.notEqual(registry.entry('b')!.revision, revisionB);
    assert.deepEqual(registry.get('b'), cli.get('b'));
    assert.ok(registry.get('c'));
    assert.equal(registry.refresh(), false);
    // A change here first picks up the other process's change instead of overwriting it.
    cli.add({ deviceId: 'd' });
    registry.add({ deviceId: 'e' });
    assert.deepEqual(IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE }).list().map((r) => r.deviceId), ['a', 'b', 'c', 'd', 'e']);
  });

  it('watch() reloads after `outpost identity` changes the file', async (t) => {
    const { registry, dataDir } = openRegistry(t);
    let reloads = 0;
    const reloaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reload within 10 s')), 10_000);
      const stop = registry.watch({
        onReload: () => {
          reloads++;
          clearTimeout(timer);
          stop();
          resolve();
        },
      });
    });
    IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE }).add({ deviceId: 'from-cli' });
    await reloaded;
    assert.equal(reloads, 1);
    assert.ok(registry.get('from-cli'));
  });

  it('refuses a corrupt file without quoting it (it holds keys), and keeps it', (t) => {
    const { registry, dataDir } = openRegistry(t);
    registry.add({ deviceId: 'a' });
    const file = identitiesFile(dataDir);
    const good = readFileSync(file, 'utf8');
    const key = /"primaryKey": "([^"]+)"/.exec(good)![1]!;
    writeFileSync(file, good.replace(`"primaryKey": "${key}"`, `"primaryKey": ${key}`));
    throwsCode(() => IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE }), 'OUTPOST_IDENTITY_STORE_UNREADABLE', /not valid JSON|line \d+/);
    try {
      IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
    } catch (error) {
      assert.ok(!(error as Error).message.includes(key));
      assert.equal((error as Error).cause, undefined);
    }
    throwsCode(() => registry.refresh(), 'OUTPOST_IDENTITY_STORE_UNREADABLE');
    assert.ok(registry.get('a'), 'the running registry keeps what it had');
    writeFileSync(file, JSON.stringify({ formatVersion: 1, identities: [{ deviceId: 'x', status: 'maybe' }] }));
    throwsCode(() => IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE }), 'OUTPOST_IDENTITY_STORE_UNREADABLE', /identities\[0\]: .*status/);
  });
});
