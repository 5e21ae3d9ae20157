import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { OutpostError } from '../../src/errors/index.js';
import { moduleEnvironment, connectionStringEnvironment, WorkloadServer, type IdentityRecord } from '../../src/hub/auth/index.js';
import { EDGE, GATEWAY, HUB, openRegistry, tempDir } from './auth-test-helpers.js';

const API = '?api-version=2018-06-28';
const BUNDLE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

interface Reply {
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

function call(socketPath: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: { host: 'localhost', 'content-type': 'application/json', 'request-id': 'r1' }, timeout: 10_000 }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: JSON.parse(data) as Record<string, unknown> }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(text);
  });
}

/** A process listens on `path` and is killed with SIGKILL, leaving the socket file behind. */
async function crashedSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the listener exited early')));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

async function setup(t: TestContext, options: { onlyModule?: string } = {}) {
  const { registry, dataDir } = openRegistry(t);
  const module = registry.ensureModule('filter');
  const server = await WorkloadServer.start({ socketPath: join(dataDir, 'workload.sock'), registry, trustBundle: () => BUNDLE, ...options });
  t.after(() => server.stop());
  const keys = module.authentication.type === 'sas' ? module.authentication : undefined;
  assert.ok(keys);
  return { registry, server, module, keys, dataDir };
}

const signPath = (moduleId: string, generationId: string) => `/modules/${encodeURIComponent(moduleId)}/genid/${encodeURIComponent(generationId)}/sign${API}`;
const data = Buffer.from('myhub.azure-devices.net%2Fdevices%2Fedge1%2Fmodules%2Ffilter\n1795484519').toString('base64');

describe('workload API over a unix socket', () => {
  it('serves the trust bundle as {"certificate"} in JSON', async (t) => {
    const { server } = await setup(t);
    const reply = await call(server.socketPath, 'GET', `/trust-bundle${API}`);
    assert.equal(reply.status, 200);
    assert.match(reply.contentType ?? '', /^application\/json/);
    assert.deepEqual(reply.body, { certificate: BUNDLE });
  });

  it('signs with the module key: primary by default, secondary on request', async (t) => {
    const { server, module, keys } = await setup(t);
    const expect = (key: string) => createHmac('sha256', Buffer.from(key, 'base64')).update(Buffer.from(data, 'base64')).digest('base64');
    const primary = await call(server.socketPath, 'POST', signPath('filter', module.generationId), { keyId: 'primary', algo: 'HMACSHA256', data });
    assert.equal(primary.status, 200);
    assert.deepEqual(primary.body, { digest: expect(keys.primaryKey) });
    const secondary = await call(server.socketPath, 'POST', signPath('filter', module.generationId), { keyId: 'secondary', algo: 'HMACSHA256', data });
    assert.deepEqual(secondary.body, { digest: expect(keys.secondaryKey) });
  });

  it('decodes url-encoded module ids ($edgeHub arrives as %24edgeHub)', async (t) => {
    const { server, registry } = await setup(t);
    const hub = registry.ensureModule('$edgeHub');
    const reply = await call(server.socketPath, 'POST', signPath('$edgeHub', hub.generationId), { keyId: 'primary', algo: 'HMACSHA256', data });
    assert.equal(reply.status, 200);
  });

  it('refuses unknown modules, other generations, disabled modules and modules of other devices', async (t) => {
    const { server, module, registry } = await setup(t);
    const body = { keyId: 'primary', algo: 'HMACSHA256', data };
    assert.equal((await call(server.socketPath, 'POST', signPath('ghost', module.generationId), body)).status, 404);
    assert.equal((await call(server.socketPath, 'POST', signPath('filter', 'old-generation'), body)).status, 404);
    registry.add({ deviceId: 'leaf' });
    registry.add({ deviceId: 'leaf', moduleId: 'lm' });
    assert.equal((await call(server.socketPath, 'POST', signPath('lm', registry.get('leaf', 'lm')!.generationId), body)).status, 404, 'only modules of this edge device');
    registry.setStatus(EDGE, 'filter', 'disabled');
    const disabled = await call(server.socketPath, 'POST', signPath('filter', module.generationId), body);
    assert.equal(disabled.status, 403);
    assert.match(String(disabled.body.message), /disabled/);
  });

  it('answers bad requests with 400 and a message, and never echoes the data', async (t) => {
    const { server, module } = await setup(t);
    const path = signPath('filter', module.generationId);
    const cases: [unknown, RegExp][] = [
      [{ keyId: 'tertiary', algo: 'HMACSHA256', data }, /keyId/],
      [{ keyId: 'primary', algo: 'HMACSHA1', data }, /algo/],
      [{ keyId: 'primary', algo: 'HMACSHA256', data: 'not base64!' }, /base64/],
      [{ keyId: 'primary', algo: 'HMACSHA256' }, /base64/],
      ['{"keyId": ', /not JSON/],
      [[1, 2], /expected/],
    ];
    for (const [body, message] of cases) {
      const reply = await call(server.socketPath, 'POST', path, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.match(String(reply.body.message), message);
      assert.ok(!JSON.stringify(reply.body).includes(data));
    }
    assert.equal((await call(server.socketPath, 'POST', `/modules/filter/genid/${module.generationId}/sign`, { keyId: 'primary', algo: 'HMACSHA256', data })).status, 400, 'api-version is required');
    assert.equal((await call(server.socketPath, 'POST', path, 'x'.repeat(70_000))).status, 413);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async (t) => {
    const { server, module } = await setup(t);
    assert.equal((await call(server.socketPath, 'GET', `/modules${API}`)).status, 404);
    assert.equal((await call(server.socketPath, 'GET', `/modules/filter/genid/${module.generationId}/decrypt${API}`)).status, 404);
    assert.equal((await call(server.socketPath, 'POST', `/trust-bundle${API}`, {})).status, 405);
    assert.equal((await call(server.socketPath, 'GET', signPath('filter', module.generationId))).status, 405);
  });

  it('with onlyModule signs for that module alone', async (t) => {
    const { server, registry } = await setup(t, { onlyModule: 'filter' });
    const other = registry.ensureModule('other');
    assert.equal((await call(server.socketPath, 'POST', signPath('other', other.generationId), { keyId: 'primary', algo: 'HMACSHA256', data })).status, 403);
  });

  it('makes the socket owner-and-group only, replaces a stale socket and refuses a live one', async (t) => {
    const { server, registry, dataDir } = await setup(t);
    assert.equal(statSync(server.socketPath).mode & 0o777, 0o660);
    await assert.rejects(WorkloadServer.start({ socketPath: server.socketPath, registry, trustBundle: BUNDLE }), (error: unknown) => error instanceof OutpostError && error.code === 'OUTPOST_WORKLOAD_LISTEN_FAILED' && /another process/.test(error.message));

    // A socket file nobody serves (its process was killed) is replaced.
    const stalePath = join(dataDir, 'stale.sock');
    await crashedSocket(stalePath);
    assert.ok(statSync(stalePath).isSocket());
    const replaced = await WorkloadServer.start({ socketPath: stalePath, registry, trustBundle: BUNDLE });
    t.after(() => replaced.stop());
    assert.equal((await call(stalePath, 'GET', `/trust-bundle${API}`)).status, 200);

    const file = join(dataDir, 'not-a-socket');
    writeFileSync(file, 'x');
    await assert.rejects(WorkloadServer.start({ socketPath: file, registry, trustBundle: BUNDLE }), /not a socket/);
  });

  it('refuses a socket path longer than a unix socket allows', async (t) => {
    const { registry } = await setup(t);
    const long = join(tempDir(t), 'x'.repeat(120), 'workload.sock');
    await assert.rejects(WorkloadServer.start({ socketPath: long, registry, trustBundle: BUNDLE }), /longer than 107 bytes/);
  });
});

describe('module environment', () => {
  const record: IdentityRecord = {
    deviceId: EDGE,
    moduleId: 'filter',
    status: 'enabled',
    authentication: { type: 'sas', primaryKey: Buffer.alloc(32, 1).toString('base64'), secondaryKey: Buffer.alloc(32, 2).toString('base64') },
    generationId: 'gen-1',
    source: 'deployment',
  };

  it('has every variable ModuleClient.fromEnvironment reads for the workload API', () => {
    assert.deepEqual(moduleEnvironment({ record, workloadUri: 'unix:///data/workload.sock', iotHubHostname: HUB, gatewayHostname: GATEWAY }), {
      IOTEDGE_WORKLOADURI: 'unix:///data/workload.sock',
      IOTEDGE_DEVICEID: EDGE,
      IOTEDGE_MODULEID: 'filter',
      IOTEDGE_MODULEGENERATIONID: 'gen-1',
      IOTEDGE_IOTHUBHOSTNAME: HUB,
      IOTEDGE_GATEWAYHOSTNAME: GATEWAY,
      IOTEDGE_AUTHSCHEME: 'sasToken',
      IOTEDGE_APIVERSION: '2018-06-28',
    });
  });

  it('or a connection string with GatewayHostName and the CA file', () => {
    assert.deepEqual(connectionStringEnvironment({ record, iotHubHostname: HUB, gatewayHostname: GATEWAY, caFile: '/data/certs/ca.pem' }), {
      EdgeHubConnectionString: `HostName=${HUB};DeviceId=${EDGE};ModuleId=filter;SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')};GatewayHostName=${GATEWAY}`,
      EdgeModuleCACertificateFile: '/data/certs/ca.pem',
    });
  });
});
