import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authorizer, parsePolicy, type PolicyProblem, type PolicyRule } from '../../src/hub/auth/index.js';

function rules(document: unknown): readonly PolicyRule[] {
  const result = parsePolicy(document);
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
  return result.rules;
}

function problems(document: unknown): readonly PolicyProblem[] {
  const result = parsePolicy(document);
  assert.ok(!result.ok, 'expected the policy to be rejected');
  return result.problems;
}

const HUB = 'myhub.azure-devices.net';

describe('authorization policy: reading', () => {
  it('reads the twin form of the notes (1.4), deny rules first within a statement', () => {
    const read = rules([
      { identities: [`${HUB}/rogue_client`], deny: [{ operations: ['mqtt:connect'] }] },
      { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] },
      {
        identities: [`${HUB}/sensor_1`],
        allow: [{ operations: ['mqtt:publish'], resources: ['events/alerts'] }],
        deny: [{ operations: ['mqtt:subscribe'], resources: ['/alert/#'] }],
      },
    ]);
    assert.deepEqual(
      read.map((r) => [r.statement, r.effect, r.operations.join(','), r.resources.join(',')]),
      [
        [0, 'deny', 'mqtt:connect', ''],
        [1, 'allow', 'mqtt:connect', ''],
        [2, 'deny', 'mqtt:subscribe', '/alert/#'],
        [2, 'allow', 'mqtt:publish', 'events/alerts'],
      ],
    );
  });

  it('reads {"authorizations": [...]} (the mqttBroker object), the broker form and JSON text', () => {
    assert.equal(rules({ authorizations: [{ identities: ['a'], allow: [{ operations: ['mqtt:connect'] }] }], bridges: [] }).length, 1);
    const broker = rules({ statements: [{ effect: 'deny', identities: ['a'], operations: ['mqtt:publish'], resources: ['x/#'] }] });
    assert.equal(broker[0]!.effect, 'deny');
    assert.equal(rules('[{"identities":["a"],"allow":[{"operations":["mqtt:connect"]}]}]').length, 1);
    assert.deepEqual(rules([]), []);
  });

  it('rejects the wrong document shape and bad JSON with a line and column', () => {
    assert.match(problems({ rules: [] })[0]!.message, /expected an array of statements/);
    assert.match(problems(42)[0]!.message, /expected an array/);
    assert.match(problems('[{"identities": ["a"],\n  "allow": [}]')[0]!.message, /line 2, column/);
  });

  it('names the statement and path of every problem, all at once', () => {
    const found = problems([
      { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] },
      { identities: [], allow: [{ operations: ['mqtt:publish'], resources: ['a'] }] },
      { identities: ['x'], allow: [{ operations: ['mqtt:pub'], resources: ['a'] }] },
      { identities: ['x'], deny: [{ operations: ['mqtt:publish'] }] },
      { identities: ['x'], allow: [{ operations: ['mqtt:subscribe'], resources: ['a/#/b', 'a+', 'ok/+'] }] },
      { identities: ['{{iot:nope}}'], allow: [{ operations: ['mqtt:connect'] }] },
      { identities: ['x'], alow: [{ operations: ['mqtt:publish'], resources: ['a'] }] },
      { identities: ['x'], allow: [{ operations: ['mqtt:publish'], resources: ['{{iot:device_id'] }] },
      { identities: ['x'] },
      'not a statement',
      { identities: ['x'], allow: { operations: ['mqtt:publish'] } },
    ]);
    const summary = found.map((p) => `${p.statement} ${p.path}: ${p.message}`);
    const expect = (pattern: RegExp) => assert.ok(summary.some((line) => pattern.test(line)), `${pattern} in\n${summary.join('\n')}`);
    expect(/^1 \[1\]\.identities: identities must be a non-empty array/);
    expect(/^2 \[2\]\.allow\[0\]\.operations\[0\]: unknown operation "mqtt:pub"/);
    expect(/^3 \[3\]\.deny\[0\]\.resources: resources must be a non-empty array/);
    expect(/^4 \[4\]\.allow\[0\]\.resources\[0\]: "a\/#\/b" is not a valid MQTT topic filter/);
    expect(/^4 \[4\]\.allow\[0\]\.resources\[1\]: "a\+" is not a valid MQTT topic filter/);
    expect(/^5 \[5\]\.identities\[0\]: unknown variable \{\{iot:nope\}\}/);
    expect(/^6 \[6\]\.alow: unknown key "alow"/);
    expect(/^7 \[7\]\.allow\[0\]\.resources\[0\]: unclosed "\{\{"/);
    expect(/^8 \[8\]: a statement needs "allow" or "deny"/);
    expect(/^9 \[9\]: a statement must be an object/);
    expect(/^10 \[10\]\.allow: "allow" must be an array/);
    assert.ok(!summary.some((line) => line.startsWith('0 ')), 'the valid statement has no problem');
    assert.ok(!summary.some((line) => line.includes('ok/+')), 'a valid resource has no problem');
  });

  it('accepts every variable, in identities and resources, and wildcards around them', () => {
    const read = rules([
      {
        identities: ['{{iot:identity}}', `${HUB}/{{iot:this_device_id}}/monitor`],
        allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['{{iot:device_id}}/{{iot:module_id}}/#', 'clients/{{mqtt:client_id}}/+', '{{iot:identity}}/x'] }],
      },
    ]);
    assert.equal(read[0]!.resources.length, 3);
  });

  it('reports problems through Authorizer.compile as one OutpostError with the list', () => {
    const compiled = Authorizer.compile([{ identities: ['x'], allow: [{ operations: ['mqtt:fly'], resources: ['a'] }] }]);
    assert.ok(!compiled.ok);
    assert.equal(compiled.error.code, 'OUTPOST_AUTH_POLICY_INVALID');
    assert.match(compiled.error.message, /statement 0: \[0\]\.allow\[0\]\.operations\[0\]: unknown operation "mqtt:fly"/);
    assert.deepEqual(compiled.error.details?.problems, compiled.problems);
  });
});
