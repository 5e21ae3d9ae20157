import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEnvelope, DEFAULT_DEPLOYMENT_FILE, readDeployment, readManifest } from '../../src/agent/index.js';
import { jsonErrorOffset } from '../../src/agent/manifest/json-error-offset.js';

const desired = (agent: unknown, hub: unknown) => ({
  modulesContent: { $edgeAgent: { 'properties.desired': agent }, $edgeHub: { 'properties.desired': hub } },
});
const agentOk = { schemaVersion: '1.1', runtime: { type: 'docker' }, systemModules: {}, modules: { a: {}, b: {} } };

describe('deployment manifest envelope', () => {
  it('accepts the embedded default manifest: the two sample modules as processes', () => {
    const result = readManifest(DEFAULT_DEPLOYMENT_FILE);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.deepEqual(result.manifest.moduleIds, ['tempSensor', 'tempFilter']);
    const deployment = readDeployment(DEFAULT_DEPLOYMENT_FILE, 'process');
    assert.ok(deployment.ok, JSON.stringify(!deployment.ok && deployment.problems));
    assert.deepEqual(deployment.deployment.modules.map((m) => [m.id, m.startupOrder]), [['tempSensor', 2], ['tempFilter', 1]]);
  });

  it('lists the module ids in manifest order', () => {
    const result = checkEnvelope('m.json', desired(agentOk, { schemaVersion: '1.1', routes: {} }));
    assert.ok(result.ok);
    assert.deepEqual(result.manifest.moduleIds, ['a', 'b']);
  });

  it('accepts the schema versions Azure accepts and rejects the others, naming the path', () => {
    for (const [agentVersion, hubVersion, ok] of [
      ['1.0', '1.0', true],
      ['1.1.0', '1.3', true],
      ['1.2', '1.1', false],
      ['1.1', '1.4', false],
      ['2.0', '1.1', false],
    ] as const) {
      const result = checkEnvelope('m.json', desired({ ...agentOk, schemaVersion: agentVersion }, { schemaVersion: hubVersion }));
      assert.equal(result.ok, ok, `${agentVersion}/${hubVersion}`);
      if (!result.ok) assert.match(result.problems[0]!.path, /schemaVersion$/);
    }
  });

  it('reports every missing part at once', () => {
    const result = checkEnvelope('m.json', desired({ modules: [] }, { routes: 'x' }));
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => p.path.replace(/^modulesContent\./, '')),
      [
        "$edgeAgent['properties.desired'].schemaVersion",
        "$edgeAgent['properties.desired'].runtime",
        "$edgeAgent['properties.desired'].systemModules",
        "$edgeAgent['properties.desired'].modules",
        "$edgeHub['properties.desired'].schemaVersion",
        "$edgeHub['properties.desired'].routes",
      ],
    );
  });
});

describe('JSON syntax error offsets', () => {
  it('agrees with JSON.parse on valid and invalid documents, including random mutations', () => {
    const base = JSON.stringify({ a: [1, -2.5e3, true, false, null, 'x\\"\u00e9'], b: { c: {} , d: [] } }, null, 2);
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const alphabet = '{}[],:"\\ 0-9.eEtfnul';
    for (let n = 0; n < 2_000; n++) {
      const at = Math.floor(random() * base.length);
      const text = n % 2 === 0 ? base.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + base.slice(at + 1) : base.slice(0, at);
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const offset = jsonErrorOffset(text);
      assert.equal(offset === undefined, valid, JSON.stringify(text));
      if (offset !== undefined) assert.ok(offset >= 0 && offset <= text.length);
    }
  });

  it('points at the offending character', () => {
    assert.equal(jsonErrorOffset('{"a":1,}'), 7);
    assert.equal(jsonErrorOffset('{"a" 1}'), 5);
    assert.equal(jsonErrorOffset('[1,2]'), undefined);
  });
});
