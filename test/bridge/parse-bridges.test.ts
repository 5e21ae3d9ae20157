/**
 * `$edgeHub` mqttBroker.bridges in Azure's format: valid input read into rules, every problem
 * reported with its path, and a manifest with invalid bridges refused with status 400.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEnvelope } from '../../src/agent/index.js';
import { bridgeRulesFromDeployment, parseBridges } from '../../src/hub/bridge/index.js';

const HUB_PATH = "modulesContent.$edgeHub['properties.desired']";

function manifest(hub: Record<string, unknown>): unknown {
  return {
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.2', routes: {}, ...hub } },
    },
  };
}

describe('bridge settings', () => {
  it("reads Azure's example into rules, prefixes defaulting to none", () => {
    const parsed = parseBridges([{ endpoint: '$upstream', settings: [{ direction: 'in', topic: 'alerts/#' }, { direction: 'out', topic: '#', inPrefix: '/local/telemetry/', outPrefix: '/remote/messages/' }] }]);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.rules, [
      { direction: 'in', topic: 'alerts/#', inPrefix: '', outPrefix: '' },
      { direction: 'out', topic: '#', inPrefix: '/local/telemetry/', outPrefix: '/remote/messages/' },
    ]);
  });

  it('concatenates the settings of several $upstream entries (one parent, one connection)', () => {
    const parsed = parseBridges([
      { endpoint: '$upstream', settings: [{ direction: 'in', topic: 'a' }] },
      { endpoint: '$upstream', settings: [{ direction: 'both', topic: 'b' }] },
    ]);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.rules.map((r) => r.topic), ['a', 'b']);
  });

  it('reports every problem with its path', () => {
    const parsed = parseBridges([
      { endpoint: 'otherHub', settings: [{ direction: 'sideways', topic: 'x' }] },
      {
        endpoint: '$upstream',
        settings: [
          { direction: 'out', topic: '#', inPrefix: 'a/+/' },
          { direction: 'in', topic: 'x', outPrefix: 'b/#' },
          { direction: 'in', topic: 'x', outprefix: 'typo/' },
          { direction: 'out', topic: 'a/#/b' },
          { direction: 'out', topic: '#', inPrefix: 'local' },
          { direction: 'out', topic: '' },
          { direction: 'in' },
          { direction: 'in', topic: '$share/g/x' },
          'not an object',
        ],
      },
      { settings: {} },
    ]);
    assert.ok(!parsed.ok);
    assert.deepEqual(
      parsed.problems.map((p) => p.path),
      [
        'bridges[0].endpoint',
        'bridges[0].settings[0].direction',
        'bridges[1].settings[0].inPrefix',
        'bridges[1].settings[1].outPrefix',
        'bridges[1].settings[2].outprefix',
        'bridges[1].settings[3].topic',
        'bridges[1].settings[4].topic',
        'bridges[1].settings[5].topic',
        'bridges[1].settings[6].topic',
        'bridges[1].settings[7].topic',
        'bridges[1].settings[8]',
        'bridges[2].endpoint',
        'bridges[2].settings',
      ],
    );
    const messages = parsed.problems.map((p) => p.message);
    assert.match(messages[0]!, /only "\$upstream"/);
    assert.match(messages[2]!, /must not contain the wildcards \+ or #/);
    assert.match(messages[6]!, /"local#" is not a valid MQTT topic filter/);
  });

  it('refuses a manifest with invalid bridges with status 400, the path and the reason', () => {
    const result = checkEnvelope('m.json', manifest({ mqttBroker: { bridges: [{ endpoint: '$upstream', settings: [{ direction: 'out', topic: '#', outPrefix: 'up/#' }] }] } }));
    assert.ok(!result.ok);
    assert.equal(result.code, 400);
    assert.deepEqual(
      result.problems.map((p) => [p.path, p.code]),
      [[`${HUB_PATH}.mqttBroker.bridges[0].settings[0].outPrefix`, 'OUTPOST_BRIDGE_CONFIG_INVALID']],
    );
    assert.match(result.problems[0]!.message, /wildcards/);
  });

  it('refuses bridges that are not an array, and bridges under schema 1.1 (reported once, by the policy)', () => {
    const notArray = checkEnvelope('m.json', manifest({ mqttBroker: { bridges: {} } }));
    assert.ok(!notArray.ok);
    assert.deepEqual(notArray.problems.map((p) => p.path), [`${HUB_PATH}.mqttBroker.bridges`]);
    const old = checkEnvelope('m.json', manifest({ schemaVersion: '1.1', mqttBroker: { bridges: [{ endpoint: 'x', settings: [] }] } }));
    assert.ok(!old.ok);
    assert.equal(old.problems.length, 2);
    assert.match(old.problems[0]!.message, /schemaVersion 1\.2 or later/);
  });

  it('hands the hub the rules of a valid manifest, and none without bridges', () => {
    const mqttBroker = { bridges: [{ endpoint: '$upstream', settings: [{ direction: 'both', topic: 'x/#' }] }] };
    const result = checkEnvelope('m.json', manifest({ mqttBroker }));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(bridgeRulesFromDeployment(result.manifest.hub), [{ direction: 'both', topic: 'x/#', inPrefix: '', outPrefix: '' }]);
    assert.deepEqual(bridgeRulesFromDeployment({ schemaVersion: '1.2' }), []);
  });
});
