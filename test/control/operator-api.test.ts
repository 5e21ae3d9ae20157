/**
 * The operator API: the control socket's API on the HTTPS listener under /v1/, over real HTTPS to
 * an in-process hub. Nothing answers but 401 until `outpost api token` makes <dataDir>/api.token;
 * then `Authorization: Bearer <token>` reads and writes twins, invokes, sends C2D and deploys to
 * an edge device below, as the CLI does on the socket; a wrong token, another scheme or the
 * dashboard's token are refused; `--rotate` refuses the old token at once.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { DashboardToken } from '../../src/dashboard/index.js';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { createLogger } from '../../src/log/index.js';
import { Runtime } from '../../src/main.js';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
}

function call(port: number, ca: string, method: string, path: string, token: string | undefined, body?: string, scheme = 'Bearer'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `${scheme} ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: 'localhost', port, path, method, headers, ca, servername: 'localhost' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the operator API on HTTPS (/v1/, bearer token)', () => {
  const dir = tempDir('outpost-operator-api-');
  const dataDir = join(dir.path, 'data');
  const configFile = join(dir.path, 'outpost.json');
  let runtime: Runtime;
  let port: number;
  let ca: string;
  let token: string;

  before(async () => {
    const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: 'root1' });
    registry.add({ deviceId: 'dev1' });
    registry.add({ deviceId: 'child1', edge: true });
    for (const moduleId of ['$edgeAgent', '$edgeHub']) registry.add({ deviceId: 'child1', moduleId });
    writeFileSync(configFile, JSON.stringify({ dataDir, deviceId: 'root1', mqtt: { port: 0 }, https: { port: 0 }, amqp: { enabled: false }, store: { shards: 1 }, routes: {} }));
    const { config } = loadConfig({ env: {}, configFile, cwd: dir.path });
    runtime = await Runtime.start({ config, logger: createLogger({ level: 'error' }), hub: true, agent: false });
    port = runtime.ports!.https!;
    ca = runtime.hub!.credentials.ca;
  });

  after(async () => {
    await runtime?.stop('test');
    dir.remove();
  });

  it('answers only 401 while there is no token file', async () => {
    for (const presented of [undefined, 'anything']) {
      const answer = await call(port, ca, 'GET', '/v1/twins/dev1', presented);
      assert.equal(answer.status, 401);
      assert.equal(answer.body.code, 'OUTPOST_API_UNAUTHORIZED');
      assert.equal(answer.headers['www-authenticate'], 'Bearer realm="outpost"');
    }
  });

  it('`outpost api token` makes the token; with it the API reads and writes twins, sends C2D and answers its errors as the socket does', async () => {
    const made = await runOutpost(['api', 'token', '--config', configFile]);
    assert.equal(made.code, 0, made.stderr);
    token = made.stdout.trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await runOutpost(['api', 'token', '--config', configFile])).stdout.trim(), token, 'the same token until rotated');

    const twin = await call(port, ca, 'GET', '/v1/twins/dev1', token);
    assert.equal(twin.status, 200, JSON.stringify(twin.body));
    assert.equal(twin.body.deviceId, 'dev1');
    const patched = await call(port, ca, 'PATCH', '/v1/twins/dev1/desired', token, JSON.stringify({ rate: 5 }));
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', token)).body.properties.desired.rate, 5);
    // The same twin through the socket (the CLI): one API, two doors.
    const shown = await runOutpost(['twin', 'show', 'dev1', '--config', configFile]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).properties.desired.rate, 5);

    const sent = await call(port, ca, 'POST', '/v1/devices/dev1/messages/devicebound', token, JSON.stringify({ body: 'hello' }));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const queued = await call(port, ca, 'GET', '/v1/devices/dev1/messages/devicebound', token);
    assert.deepEqual([queued.status, queued.body.queued, queued.body.messages[0].messageId], [200, 1, sent.body.messageId]);
    const unknown = await call(port, ca, 'GET', '/v1/twins/nobody', token);
    assert.equal(unknown.status, 404);
    assert.equal((await call(port, ca, 'PATCH', '/v1/twins/dev1/desired', token, '{not json')).status, 400);
    const nowhere = await call(port, ca, 'GET', '/v1/nothing', token);
    assert.equal(nowhere.status, 404);
    // The store's delivery state (`outpost store delivery`): a list, one entry per endpoint that had a message.
    const delivery = await call(port, ca, 'GET', '/v1/delivery', token);
    assert.equal(delivery.status, 200);
    assert.ok(Array.isArray(delivery.body), JSON.stringify(delivery.body));
    // A body over the API's 1 MiB is refused with the limit named, nothing written.
    const huge = await call(port, ca, 'PATCH', '/v1/twins/dev1/desired', token, JSON.stringify({ big: 'x'.repeat(1_100_000) }));
    assert.equal(huge.status, 400);
    assert.match(huge.body.message, /larger than 1048576 bytes/);
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', token)).body.properties.desired.big, undefined);
  });

  it('deploys a manifest to an edge device below, and refuses one that fails validation', async () => {
    const tiny = { type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command: '/bin/true' } } };
    const manifest = (routes: Record<string, string>) => JSON.stringify({
      modulesContent: {
        $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'process', settings: {} }, systemModules: {}, modules: { tiny } } },
        $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs: 60 } } },
      },
    });
    const deployed = await call(port, ca, 'POST', '/v1/devices/child1/deployment', token, manifest({ up: 'FROM /messages/* INTO $upstream' }));
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    const agent = await call(port, ca, 'GET', `/v1/twins/child1/modules/${encodeURIComponent('$edgeAgent')}`, token);
    assert.equal(agent.body.properties.desired.modules.tiny.settings.process.command, '/bin/true');
    const refused = await call(port, ca, 'POST', '/v1/devices/child1/deployment', token, manifest({ up: 'FROM /messages/* WHERE INTO $upstream' }));
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal((await call(port, ca, 'POST', '/v1/devices/dev9/deployment', token, manifest({}))).status, 404);
  });

  it('refuses a wrong token, another scheme and the dashboard\'s token; --rotate refuses the old token at once', async () => {
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', `${token}x`)).status, 401);
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', token, undefined, 'Basic')).status, 401);
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', undefined)).status, 401);
    const dashboard = new DashboardToken(dataDir).ensure();
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', dashboard)).status, 401, 'the dashboard\'s read-only token grants no writes');
    const rotated = await runOutpost(['api', 'token', '--rotate', '--config', configFile]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = rotated.stdout.trim();
    assert.notEqual(fresh, token);
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', token)).status, 401);
    assert.equal((await call(port, ca, 'GET', '/v1/twins/dev1', fresh)).status, 200);
  });
});
