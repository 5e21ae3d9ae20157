/**
 * The device scope in pages, as IoT Hub serves it: the parent answers at most `deviceCount`
 * devices (1000 at the most) with their modules and a `continuationLink` to the next page; the
 * child follows the links and syncs the whole scope at once (a device's parent may be on another
 * page). Two real Outposts with 1,205 devices below the child, one an edge device with a device
 * and a module of its own; and the parent's pages checked over HTTPS.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { signSasToken } from '../../src/hub/upstream/sas-signer.js';
import { ScopeOperation, type IdentityRecord } from '../../src/hub/auth/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import { CHILD, HUB, TwoHubs } from './upstream-harness.js';

const COUNT = 1_205;

function get(port: number, ca: string, path: string, authorization: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path, ca, servername: 'localhost', headers: { authorization } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the device scope in pages', () => {
  let dir: { path: string; remove(): void };
  let hubs: TwoHubs;
  let httpsPort: number;
  const childEnv: Record<string, string> = {};
  const key = (i: number) => Buffer.alloc(32, i % 251).toString('base64');

  before(async () => {
    dir = tempDir('outpost-scope-paging-');
    hubs = new TwoHubs(dir.path, childEnv);
    const records: IdentityRecord[] = [];
    for (let i = 0; i < COUNT; i++) {
      records.push({ deviceId: `d${String(i).padStart(4, '0')}`, status: 'enabled', authentication: { type: 'sas', primaryKey: key(i), secondaryKey: key(i + 1) }, parentDeviceId: CHILD, generationId: `g${i}`, source: 'local' });
    }
    // The last page holds an edge device, a device below it and a module of it.
    records.push({ deviceId: 'zz-edge', status: 'enabled', authentication: { type: 'sas', primaryKey: key(1), secondaryKey: key(2) }, parentDeviceId: CHILD, edge: true, generationId: 'ge', source: 'local' });
    records.push({ deviceId: 'zz-leaf', status: 'enabled', authentication: { type: 'sas', primaryKey: key(3), secondaryKey: key(4) }, parentDeviceId: 'zz-edge', generationId: 'gl', source: 'local' });
    records.push({ deviceId: 'zz-edge', moduleId: 'camera', status: 'enabled', authentication: { type: 'sas', primaryKey: key(5), secondaryKey: key(6) }, generationId: 'gm', source: 'local' });
    const result = hubs.parentRegistry.upsertMany(records, { source: 'local' });
    assert.deepEqual(result.rejected, []);
    const parent = await hubs.startParent();
    httpsPort = (parent.ready.ports as { https: number }).https;
    childEnv.OUTPOST_UPSTREAM__HTTPS_PORT = String(httpsPort);
  });

  after(async () => {
    await hubs?.close();
    dir?.remove();
  });

  it('serves pages of deviceCount devices with their modules, linked by continuationLink', async () => {
    const token = signSasToken(`${HUB}/devices/${CHILD}`, hubs.key(hubs.parentRegistry, CHILD), Math.floor(Date.now() / 1000) + 600);
    const seen = new Set<string>();
    let path: string | null = `/devices/${CHILD}/modules/%24edgeHub/devicesAndModulesInDeviceScope?deviceCount=500&continuationToken=&api-version=2018-08-30-preview`;
    const sizes: number[] = [];
    let modules = 0;
    while (path !== null) {
      const page = await get(httpsPort, hubs.parent!.ca, path, token);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      sizes.push(page.body.devices.length);
      for (const d of page.body.devices) {
        assert.ok(!seen.has(d.deviceId), `${d.deviceId} on two pages`);
        seen.add(d.deviceId);
      }
      modules += page.body.modules.length;
      path = page.body.continuationLink;
    }
    // The child edge device itself is in its scope too.
    assert.deepEqual(sizes, [500, 500, 208]);
    assert.equal(seen.size, COUNT + 3);
    assert.equal(modules, 1);
    const capped = await get(httpsPort, hubs.parent!.ca, `/devices/${CHILD}/modules/%24edgeHub/devicesAndModulesInDeviceScope?deviceCount=5000`, token);
    assert.equal(capped.body.devices.length, 1000, 'at most 1000 devices a page');
  });

  it('is followed page by page by the child, which syncs the whole scope at once', async () => {
    // Only the child's calls (the nested API's POST); the first test's GETs may still be logging:
    // the parent's log lines reach this process through a pipe, after the answers they describe.
    const nestedPage = (more: boolean) => (line: Record<string, unknown>) => line.event === 'identity.scope_served' && line.operation === ScopeOperation.NestedScope && line.more === more;
    const child = await hubs.startChild();
    const synced = await child.outpost.waitFor((line) => line.event === 'upstream.scope_synced', 60_000);
    assert.equal(synced.identities, COUNT + 3, JSON.stringify(synced));
    assert.deepEqual(synced.rejected, []);
    hubs.childRegistry.refresh();
    assert.equal(hubs.childRegistry.get('d1204')?.source, 'upstream');
    assert.equal(hubs.childRegistry.get('zz-leaf')?.parentDeviceId, 'zz-edge', 'a parent from another page resolves');
    assert.ok(hubs.childRegistry.get('zz-edge', 'camera') !== undefined);
    await hubs.parent!.outpost.waitFor(nestedPage(false));
    assert.equal(hubs.parent!.outpost.lines.filter(nestedPage(true)).length, 1, 'two pages of 1000');
  });
});
