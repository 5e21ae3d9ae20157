import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chunkCreateOptions, checkEnvelope, DeploymentStatusCode, readCreateOptions, readDeployment, validateDeployment, type RuntimeKind } from '../../src/agent/index.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-manifest-'));
let n = 0;

function manifest(modules: Record<string, unknown>, agentExtra: Record<string, unknown> = {}, hub: Record<string, unknown> = { schemaVersion: '1.1', routes: {} }) {
  return {
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: { minDockerVersion: 'v1.25' } }, systemModules: {}, modules, ...agentExtra } },
      $edgeHub: { 'properties.desired': hub },
    },
  };
}

function validate(data: unknown, runtime?: RuntimeKind) {
  const file = join(dir, `m${n++}.json`);
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return readDeployment(file, runtime);
}

const docker = (extra: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) => ({ type: 'docker', status: 'running', settings: { image: 'localhost/edge-test:1', ...settings }, ...extra });

describe('deployment manifest validation (Azure status codes)', () => {
  it('accepts a complete Azure manifest and fills in Azure defaults', () => {
    const result = validate(manifest({ tempSensor: docker({ version: '1.0' }), filter: docker({ restartPolicy: 'always', startupOrder: 1, env: { T: { value: '19' }, N: { value: 3 } } }) }), 'docker');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const [sensor, filter] = result.deployment.modules;
    assert.equal(sensor!.restartPolicy, 'on-unhealthy');
    assert.equal(sensor!.imagePullPolicy, 'on-create');
    assert.equal(sensor!.startupOrder, 4_294_967_295);
    assert.equal(sensor!.image, 'localhost/edge-test:1');
    assert.deepEqual(filter!.env, { T: '19', N: '3' });
  });

  it('adds :latest to an untagged image and takes the digest of a pinned one', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const result = validate(manifest({ a: docker({}, { image: 'mcr.microsoft.com/azureiotedge-simulated-temperature-sensor' }), b: docker({}, { image: `localhost:5000/x/y@${digest}` }) }), 'docker');
    assert.ok(result.ok);
    assert.equal(result.deployment.modules[0]!.image, 'mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:latest');
    assert.equal(result.deployment.modules[1]!.digest, digest);
  });

  it('answers 412 for an unknown schema version, naming the field', () => {
    const data = manifest({});
    (data.modulesContent.$edgeAgent['properties.desired'] as Record<string, unknown>).schemaVersion = '2.0';
    const result = validate(data);
    assert.ok(!result.ok);
    assert.equal(result.code, DeploymentStatusCode.InvalidSchemaVersion);
    assert.match(result.problems[0]!.path, /\$edgeAgent.*schemaVersion$/);
  });

  it('answers 417 for a missing or empty manifest, 400 for bad JSON', () => {
    const missing = readDeployment(join(dir, 'does-not-exist.json'));
    assert.ok(!missing.ok);
    assert.equal(missing.code, DeploymentStatusCode.ConfigEmptyError);
    const empty = validate('  \n');
    assert.ok(!empty.ok);
    assert.equal(empty.code, DeploymentStatusCode.ConfigEmptyError);
    const syntax = validate('{"modulesContent": {,}}');
    assert.ok(!syntax.ok);
    assert.equal(syntax.code, DeploymentStatusCode.ConfigFormatError);
    assert.match(syntax.problems[0]!.message, /line 1, column 21/);
  });

  it('answers 400 with every module problem at once, each naming its field', () => {
    const result = validate(
      manifest({
        a: { type: 'docker', settings: { image: 'x' } },
        b: docker({ restartPolicy: 'sometimes', startupOrder: -1, imagePullPolicy: 'always' }),
        c: docker({ env: { X: 'plain' } }, { createOptions: '{"HostConfig":', createOptions02: '}' }),
        d: docker({}, { digest: 'md5:1' }),
        $bad: docker(),
        e: docker({ colour: 'red' }),
      }),
    );
    assert.ok(!result.ok);
    assert.equal(result.code, DeploymentStatusCode.ConfigFormatError);
    const fields = result.problems.map((p) => p.path.replace("modulesContent.$edgeAgent['properties.desired'].modules.", ''));
    assert.deepEqual(fields.sort(), [
      '$bad',
      'a.status',
      'b.imagePullPolicy',
      'b.restartPolicy',
      'b.startupOrder',
      'c.env.X',
      'c.settings.createOptions02',
      'd.settings.digest',
      'e.colour',
    ]);
    const restart = result.problems.find((p) => p.path.endsWith('b.restartPolicy'))!;
    assert.match(restart.message, /never, on-failure, on-unhealthy, always/);
  });

  it('requires what the chosen runtime needs', () => {
    const processOnly = manifest({ p: { type: 'process', status: 'running', settings: { process: { command: 'node', args: ['x.js'] } } } });
    assert.ok(validate(processOnly, 'process').ok);
    const asDocker = validate(processOnly, 'docker');
    assert.ok(!asDocker.ok);
    assert.match(asDocker.problems[0]!.path, /p\.settings\.image$/);
    const dockerOnly = validate(manifest({ d: docker() }), 'process');
    assert.ok(!dockerOnly.ok);
    assert.match(dockerOnly.problems[0]!.path, /d\.settings\.process$/);
    const badName = validate(manifest({ 'a:b': docker() }), 'docker');
    assert.ok(!badName.ok);
  });

  it('checks process settings and resolves cwd against the manifest folder', () => {
    const bad = validate(manifest({ p: { type: 'process', status: 'running', settings: { process: { command: '', healthcheck: { test: ['RUN', 'x'] } } } } }), 'process');
    assert.ok(!bad.ok);
    assert.match(bad.problems[0]!.path, /settings\.process\.command$/);
    const good = validate(manifest({ p: { type: 'process', status: 'running', settings: { process: { command: 'node', cwd: 'sub', healthcheck: { test: ['CMD-SHELL', 'true'], interval: '2s', retries: 2 } } } } }), 'process');
    assert.ok(good.ok, JSON.stringify(!good.ok && good.problems));
    const spec = good.deployment.modules[0]!.process!;
    assert.equal(spec.cwd, join(dir, 'sub'));
    assert.deepEqual(spec.healthcheck, { command: ['/bin/sh', '-c', 'true'], intervalMs: 2000, timeoutMs: 30_000, retries: 2, startPeriodMs: 0 });
  });

  it('checks registry credentials', () => {
    const result = validate(manifest({}, { runtime: { type: 'docker', settings: { registryCredentials: { acr: { username: 'u', address: 'acr.io' } } } } }));
    assert.ok(!result.ok);
    assert.match(result.problems[0]!.path, /registryCredentials\.acr\.password$/);
  });

  it('changes the config hash only for what is baked into a module', () => {
    const hash = (module: Record<string, unknown>) => {
      const r = validate(manifest({ m: module }), 'docker');
      assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
      return r.deployment.modules[0]!.configHash;
    };
    const base = hash(docker());
    assert.equal(hash(docker({ restartPolicy: 'always', startupOrder: 3, status: 'stopped' })), base);
    assert.notEqual(hash(docker({ env: { A: { value: '1' } } })), base);
    assert.notEqual(hash(docker({}, { image: 'localhost/edge-test:2' })), base);
    assert.notEqual(hash(docker({}, { createOptions: '{"Env":["A=1"]}' })), base);
    assert.equal(hash(docker({}, { createOptions: '{"A":1,"B":2}' })), hash(docker({}, { createOptions: '{"B":2,', createOptions01: '"A":1}' })));
  });

  it('validates the module part without a runtime for outpost check', () => {
    const envelope = checkEnvelope('x.json', manifest({ m: { type: 'docker', status: 'running', settings: {} } }));
    assert.ok(envelope.ok);
    const result = validateDeployment(envelope.manifest);
    assert.ok(!result.ok);
    assert.match(result.problems[0]!.message, /settings.image .* or settings.process/);
  });
});

describe('createOptions chunks', () => {
  it('joins createOptions, createOptions01 … in order, case-insensitively', () => {
    const result = readCreateOptions({ createOptions01: '"Memory":1}}', CREATEOPTIONS: '{"HostConfig":{', image: 'x' });
    assert.ok(result.ok);
    assert.deepEqual(result.options, { HostConfig: { Memory: 1 } });
  });

  it('treats "", whitespace and "null" as no options, and rejects non-objects', () => {
    for (const text of ['', '   ', 'null']) assert.deepEqual(readCreateOptions({ createOptions: text }), { ok: true, options: {}, text });
    const array = readCreateOptions({ createOptions: '[1]' });
    assert.ok(!array.ok);
    const notString = readCreateOptions({ createOptions: { HostConfig: {} } });
    assert.ok(!notString.ok);
  });

  it('splits into 512-character chunks that join back to the same text', () => {
    const text = JSON.stringify({ Env: Array.from({ length: 200 }, (_, i) => `VARIABLE_${i}=value-${i}`) });
    const chunks = chunkCreateOptions(text);
    assert.ok(Object.keys(chunks).length > 2);
    assert.equal(chunks.createOptions!.length, 512);
    assert.ok('createOptions01' in chunks);
    const joined = readCreateOptions(chunks);
    assert.ok(joined.ok);
    assert.equal(joined.text, text);
  });
});
