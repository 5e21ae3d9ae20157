/**
 * The policy part of a deployment manifest: `$edgeHub` `mqttBroker.authorizations`, checked with
 * the manifest (status 400 with the path of every problem) and read for the hub.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEnvelope } from '../../src/agent/index.js';
import { policyFromDeployment } from '../../src/hub/auth/index.js';

const HUB_PATH = "modulesContent.$edgeHub['properties.desired']";
const connectAll = { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] };

function manifest(hub: Record<string, unknown>): unknown {
  return {
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.2', routes: {}, ...hub } },
    },
  };
}

describe('the policy of a deployment manifest', () => {
  it('accepts a valid policy and hands the hub its mqttBroker part', () => {
    const mqttBroker = { authorizations: [connectAll], bridges: [] };
    const result = checkEnvelope('m.json', manifest({ mqttBroker }));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(policyFromDeployment(result.manifest.hub), mqttBroker);
  });

  it('means the default policy without mqttBroker or without authorizations', () => {
    assert.equal(policyFromDeployment({ schemaVersion: '1.2' }), undefined);
    assert.equal(policyFromDeployment({ schemaVersion: '1.2', mqttBroker: { bridges: [] } }), undefined);
  });

  it('rejects an invalid policy with status 400 and the path of every problem', () => {
    const result = checkEnvelope(
      'm.json',
      manifest({ mqttBroker: { authorizations: [connectAll, { identities: [], allow: [{ operations: ['mqtt:pub'], resources: ['a/#/b'] }] }], brigdes: [] } }),
    );
    assert.ok(!result.ok);
    assert.equal(result.code, 400);
    assert.deepEqual(
      result.problems.map((p) => [p.path.slice(HUB_PATH.length), p.code]),
      [
        ['.mqttBroker.brigdes', 'OUTPOST_AUTH_POLICY_INVALID'],
        ['.mqttBroker.authorizations[1].identities', 'OUTPOST_AUTH_POLICY_INVALID'],
        ['.mqttBroker.authorizations[1].allow[0].operations[0]', 'OUTPOST_AUTH_POLICY_INVALID'],
        ['.mqttBroker.authorizations[1].allow[0].resources[0]', 'OUTPOST_AUTH_POLICY_INVALID'],
      ],
    );
  });

  it('refuses mqttBroker under $edgeHub schema 1.0 and 1.1 instead of ignoring it as Azure does', () => {
    for (const schemaVersion of ['1.0', '1.1']) {
      const result = checkEnvelope('m.json', manifest({ schemaVersion, mqttBroker: { authorizations: [connectAll] } }));
      assert.ok(!result.ok);
      assert.equal(result.code, 400);
      assert.equal(result.problems[0]?.path, `${HUB_PATH}.mqttBroker`);
      assert.match(result.problems[0]!.message, /schemaVersion 1\.2 or later/);
    }
  });

  it('rejects a mqttBroker that is not an object, or authorizations that are not an array', () => {
    const notObject = checkEnvelope('m.json', manifest({ mqttBroker: [] }));
    assert.ok(!notObject.ok);
    assert.equal(notObject.problems[0]?.path, `${HUB_PATH}.mqttBroker`);
    const notArray = checkEnvelope('m.json', manifest({ mqttBroker: { authorizations: {} } }));
    assert.ok(!notArray.ok);
    assert.equal(notArray.problems[0]?.path, `${HUB_PATH}.mqttBroker.authorizations`);
  });
});
