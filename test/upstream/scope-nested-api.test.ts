/**
 * IoT Hub's nested device-scope API (2020-06-30-preview), which Azure's edge hub from 1.2 on calls
 * of its parent and of IoT Hub, and serves as a parent: `POST …/devicesAndModulesInTargetDeviceScope`
 * and `POST …/getDeviceAndModuleOnBehalfOf`, each with an auth chain in a JSON body. A real parent
 * Outpost checked over HTTPS (what an Azure edge hub child would send it), the child Outpost
 * syncing through it, and the child falling back to the first API (GET, 2018-08-30-preview) of an
 * IoT Hub that serves only that one — the only fake here, a real HTTPS server speaking IoT Hub's
 * protocol and checking the SAS token.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { IdentityRegistry, type IdentityRecord } from '../../src/hub/auth/index.js';
import { DeviceScopeSync } from '../../src/hub/upstream/device-scope-sync.js';
import { signSasToken } from '../../src/hub/upstream/sas-signer.js';
import { UpstreamCredentials } from '../../src/hub/upstream/upstream-credentials.js';
import { createLogger } from '../../src/log/index.js';
import { ensureDevCertificates } from '../../src/tls/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import { CHILD, HUB, PARENT, TwoHubs } from './upstream-harness.js';

const NESTED = '2020-06-30-preview';

function call(port: number, ca: string, method: 'GET' | 'POST', path: string, authorization: string | undefined, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: 'localhost', port, path, method, ca, servername: 'localhost', headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ids = (list: Array<{ deviceId: string; moduleId?: string }>) => list.map((e) => (e.moduleId === undefined ? e.deviceId : `${e.deviceId}/${e.moduleId}`)).sort();

describe('the nested device-scope API', () => {
  let dir: { path: string; remove(): void };
  let hubs: TwoHubs;
  let httpsPort: number;
  let ca: string;
  const childEnv: Record<string, string> = {};
  const path = (edge: string, operation: string) => `/devices/${edge}/modules/%24edgeHub/${operation}?api-version=${NESTED}`;
  const tokenOf = (deviceId: string, moduleId?: string) =>
    signSasToken(`${HUB}/devices/${deviceId}${moduleId === undefined ? '' : `/modules/${moduleId}`}`, hubs.key(hubs.parentRegistry, deviceId, moduleId), Math.floor(Date.now() / 1000) + 600);

  before(async () => {
    dir = tempDir('outpost-scope-nested-');
    hubs = new TwoHubs(dir.path, childEnv);
    const add = (record: Omit<IdentityRecord, 'authentication' | 'generationId' | 'source' | 'status'>) => hubs.parentRegistry.add(record);
    add({ deviceId: CHILD, moduleId: '$edgeHub' });
    add({ deviceId: 'n-dev', parentDeviceId: CHILD });
    add({ deviceId: 'n-edge', parentDeviceId: CHILD, edge: true });
    add({ deviceId: 'n-leaf', parentDeviceId: 'n-edge' });
    add({ deviceId: 'n-edge', moduleId: 'camera' });
    add({ deviceId: 'other-edge', parentDeviceId: PARENT, edge: true });
    add({ deviceId: 'o-dev', parentDeviceId: 'other-edge' });
    const parent = await hubs.startParent();
    httpsPort = (parent.ready.ports as { https: number }).https;
    ca = parent.ca;
    childEnv.OUTPOST_UPSTREAM__HTTPS_PORT = String(httpsPort);
  });

  after(async () => {
    await hubs?.close();
    dir?.remove();
  });

  it('serves the scope of the edge device the auth chain starts with, in pages, to that device or an edge device above it', async () => {
    const asChild = tokenOf(CHILD, '$edgeHub');
    const whole = await call(httpsPort, ca, 'POST', path(CHILD, 'devicesAndModulesInTargetDeviceScope'), asChild, JSON.stringify({ authChain: CHILD, pageSize: 1000 }));
    assert.equal(whole.status, 200, JSON.stringify(whole.body));
    assert.deepEqual(ids(whole.body.devices), [CHILD, 'n-dev', 'n-edge', 'n-leaf']);
    assert.deepEqual(ids(whole.body.modules), [`${CHILD}/$edgeHub`, 'n-edge/camera']);
    assert.equal(whole.body.continuationLink, null);
    const nEdge = whole.body.devices.find((d: { deviceId: string }) => d.deviceId === 'n-edge');
    assert.deepEqual(nEdge.capabilities, { iotEdge: true });
    assert.match(nEdge.deviceScope, /^ms-azure-iot-edge:\/\/n-edge-/);
    assert.equal(nEdge.authentication.type, 'sas');
    assert.equal(typeof nEdge.authentication.symmetricKey.primaryKey, 'string');

    // Pages of two, the token sent back in the body; the edge device's own token works too.
    const seen: string[] = [];
    let link: string | null = null;
    let pages = 0;
    do {
      const page = await call(httpsPort, ca, 'POST', path(CHILD, 'devicesAndModulesInTargetDeviceScope'), tokenOf(CHILD), JSON.stringify({ authChain: CHILD, pageSize: 2, ...(link === null ? {} : { continuationLink: link }) }));
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...ids(page.body.devices));
      link = page.body.continuationLink;
      pages++;
    } while (link !== null);
    assert.equal(pages, 2);
    assert.deepEqual(seen.sort(), [CHILD, 'n-dev', 'n-edge', 'n-leaf']);

    // The child asks for an edge device below it (what it does for a gateway below itself).
    const below = await call(httpsPort, ca, 'POST', path(CHILD, 'devicesAndModulesInTargetDeviceScope'), asChild, JSON.stringify({ authChain: `n-edge;${CHILD}` }));
    assert.equal(below.status, 200, JSON.stringify(below.body));
    assert.deepEqual(ids(below.body.devices), ['n-edge', 'n-leaf']);
    assert.deepEqual(ids(below.body.modules), ['n-edge/camera']);
  });

  it('refuses a chain that does not pass through the caller, a missing or wrong token, and a body that is not a request', async () => {
    const asChild = tokenOf(CHILD, '$edgeHub');
    const scope = path(CHILD, 'devicesAndModulesInTargetDeviceScope');
    const other = await call(httpsPort, ca, 'POST', scope, asChild, JSON.stringify({ authChain: 'other-edge' }));
    assert.equal(other.status, 401);
    assert.match(other.body.message, /other-edge/);
    assert.equal((await call(httpsPort, ca, 'POST', scope, undefined, JSON.stringify({ authChain: CHILD }))).status, 401);
    assert.equal((await call(httpsPort, ca, 'POST', scope, tokenOf('n-edge'), JSON.stringify({ authChain: CHILD }))).status, 401, 'n-edge\'s token for the child\'s path');
    // n-edge may ask for itself, not for the gateway above it.
    assert.equal((await call(httpsPort, ca, 'POST', path('n-edge', 'devicesAndModulesInTargetDeviceScope'), tokenOf('n-edge'), JSON.stringify({ authChain: CHILD }))).status, 401);
    assert.equal((await call(httpsPort, ca, 'POST', path('n-dev', 'devicesAndModulesInTargetDeviceScope'), tokenOf('n-dev'), JSON.stringify({ authChain: 'n-dev' }))).status, 403, 'not an edge device');
    for (const [body, pattern] of [['not json', /not JSON/], ['[1]', /not a JSON object/], ['{}', /authChain is required/], [JSON.stringify({ authChain: `${CHILD};;x` }), /not a list/]] as const) {
      const answer = await call(httpsPort, ca, 'POST', scope, asChild, body);
      assert.equal(answer.status, 400, body);
      assert.match(answer.body.message, pattern);
    }
    assert.equal((await call(httpsPort, ca, 'POST', scope, asChild, JSON.stringify({ authChain: CHILD, pad: 'x'.repeat(20_000) }))).status, 413);
    assert.equal((await call(httpsPort, ca, 'GET', scope, asChild)).status, 404, 'the nested call is a POST');
    assert.equal((await call(httpsPort, ca, 'POST', `/devices/${CHILD}/modules/%24edgeHub/devicesAndModulesInDeviceScope`, asChild, '{}')).status, 404, 'the first API\'s call is a GET');
    assert.ok(hubs.parent!.outpost.lines.some((line) => line.event === 'identity.scope_refused' && line.operation === 'devicesAndModulesInTargetDeviceScope'));
  });

  it('answers one identity on behalf of an edge device: the device, a module with its device, nothing outside the scope', async () => {
    const asChild = tokenOf(CHILD, '$edgeHub');
    const onBehalf = path(CHILD, 'getDeviceAndModuleOnBehalfOf');
    const leaf = await call(httpsPort, ca, 'POST', onBehalf, asChild, JSON.stringify({ targetDeviceId: 'n-leaf', authChain: CHILD }));
    assert.equal(leaf.status, 200, JSON.stringify(leaf.body));
    assert.deepEqual([ids(leaf.body.devices), ids(leaf.body.modules)], [['n-leaf'], []]);
    const camera = await call(httpsPort, ca, 'POST', onBehalf, asChild, JSON.stringify({ targetDeviceId: 'n-edge', targetModuleId: 'camera', authChain: `n-edge;${CHILD}` }));
    assert.deepEqual([ids(camera.body.devices), ids(camera.body.modules)], [['n-edge'], ['n-edge/camera']]);
    const outside = await call(httpsPort, ca, 'POST', onBehalf, asChild, JSON.stringify({ targetDeviceId: 'o-dev', authChain: CHILD }));
    assert.equal(outside.status, 200);
    assert.deepEqual([outside.body.devices, outside.body.modules], [[], []]);
    const notBelow = await call(httpsPort, ca, 'POST', onBehalf, asChild, JSON.stringify({ targetDeviceId: 'n-dev', authChain: 'n-edge' }));
    assert.deepEqual([ids(notBelow.body.devices), notBelow.body.modules], [[], []], 'n-dev is not in n-edge\'s scope');
    assert.equal((await call(httpsPort, ca, 'POST', onBehalf, asChild, JSON.stringify({ authChain: CHILD }))).status, 400);
  });

  it('is what the child Outpost syncs its scope with', async () => {
    const child = await hubs.startChild();
    const synced = await child.outpost.waitFor((line) => line.event === 'upstream.scope_synced', 60_000);
    assert.equal(synced.api, NESTED);
    // n-dev, n-edge, n-leaf and n-edge/camera: the child keeps its own records.
    assert.equal(synced.identities, 4, JSON.stringify(synced));
    hubs.childRegistry.refresh();
    assert.equal(hubs.childRegistry.get('n-leaf')?.parentDeviceId, 'n-edge');
    assert.ok(hubs.parent!.outpost.lines.some((line) => line.event === 'identity.scope_served' && line.operation === 'devicesAndModulesInTargetDeviceScope' && line.identity === CHILD));
  });
});

describe('an IoT Hub that serves only the first scope API', () => {
  it('is asked with the first API (GET) once the nested call answers 404, for the whole scope and for one identity; with no one-identity call, the whole scope', async () => {
    const dir = tempDir('outpost-scope-first-api-');
    const logger = createLogger({ level: 'silent' });
    const certs = ensureDevCertificates({ dataDir: dir.path, hostnames: ['localhost'], logger });
    const edgeKey = Buffer.alloc(32, 7).toString('base64');
    const device = (deviceId: string) => ({ deviceId, generationId: `g-${deviceId}`, status: 'enabled', authentication: { type: 'sas', symmetricKey: { primaryKey: Buffer.alloc(32, deviceId.length).toString('base64'), secondaryKey: Buffer.alloc(32, 1).toString('base64') } }, capabilities: { iotEdge: false }, parentScopes: ['ms-azure-iot-edge://edge1-g1'] });
    const asked: string[] = [];
    let later = false;
    let targetCalls = true;
    // IoT Hub's first scope API: a valid SAS token of edge1 (an HMAC of the encoded sr and se), GET only.
    const hub = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
      asked.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
      const fields = new URLSearchParams((req.headers.authorization ?? '').replace(/^SharedAccessSignature /, '').replaceAll(',', '&'));
      const expected = createHmac('sha256', Buffer.from(edgeKey, 'base64')).update(`${encodeURIComponent(fields.get('sr') ?? '')}\n${fields.get('se')}`).digest('base64');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (fields.get('sig') !== expected || fields.get('sr') !== 'iothub.example/devices/edge1') return send(401, { message: 'unauthorized' });
      if (req.method !== 'GET') return send(404, { message: 'no such API' });
      const url = new URL(req.url ?? '/', 'https://localhost');
      if (url.pathname === '/devices/edge1/modules/%24edgeHub/devicesAndModulesInDeviceScope') return send(200, { devices: [device('d1'), ...(later ? [device('d2'), device('d3')] : [])], modules: [], continuationLink: null });
      if (targetCalls && url.pathname === '/devices/edge1/modules/%24edgeHub/deviceAndModuleInDeviceScope' && url.searchParams.get('targetDeviceId') === 'd2') return send(200, { devices: [device('d2')], modules: [] });
      send(404, { message: 'no such API' });
    });
    await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
    const registry = IdentityRegistry.open({ dataDir: dir.path, edgeDeviceId: 'edge1' });
    const sync = new DeviceScopeSync({
      host: 'localhost',
      port: (hub.address() as AddressInfo).port,
      ca: certs.caPem,
      edgeDeviceId: 'edge1',
      iotHubHostname: 'iothub.example',
      credentials: new UpstreamCredentials({ edgeDeviceId: 'edge1', connectionString: `HostName=iothub.example;DeviceId=edge1;SharedAccessKey=${edgeKey}`, registry }),
      store: registry,
      intervalMs: 3_600_000,
      tokenTtlMs: 600_000,
      logger,
    });
    try {
      await sync.refreshNow();
      assert.equal(registry.get('d1')?.source, 'upstream');
      assert.deepEqual(asked, ['POST /devices/edge1/modules/%24edgeHub/devicesAndModulesInTargetDeviceScope', 'GET /devices/edge1/modules/%24edgeHub/devicesAndModulesInDeviceScope']);
      later = true;
      asked.length = 0;
      await sync.refreshForUnknown('d2', undefined);
      assert.equal(registry.get('d2')?.source, 'upstream', 'the one-identity call of the first API');
      assert.deepEqual(asked, ['POST /devices/edge1/modules/%24edgeHub/getDeviceAndModuleOnBehalfOf', 'GET /devices/edge1/modules/%24edgeHub/deviceAndModuleInDeviceScope']);

      // With neither one-identity call served, the whole scope is fetched instead.
      targetCalls = false;
      asked.length = 0;
      await sync.refreshForUnknown('d3', undefined);
      assert.equal(registry.get('d3')?.source, 'upstream', 'from the whole scope');
      assert.deepEqual(asked, [
        'POST /devices/edge1/modules/%24edgeHub/getDeviceAndModuleOnBehalfOf',
        'GET /devices/edge1/modules/%24edgeHub/deviceAndModuleInDeviceScope',
        'POST /devices/edge1/modules/%24edgeHub/devicesAndModulesInTargetDeviceScope',
        'GET /devices/edge1/modules/%24edgeHub/devicesAndModulesInDeviceScope',
      ]);
    } finally {
      sync.close();
      await new Promise<void>((resolve) => hub.close(() => resolve()));
      dir.remove();
    }
  });
});
