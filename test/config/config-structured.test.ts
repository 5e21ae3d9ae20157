/**
 * The structured configuration values: `routes` (a hub run alone) and `auth.policy`. They are
 * checked at load by the route compiler and the policy reader, every problem reported at once with
 * the path inside the value, its position in the route text and its own code.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { changedLeaves, loadConfig, type ConfigProblem } from '../../src/config/index.js';
import { OutpostError } from '../../src/errors/index.js';
import { tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-config-structured-');
after(() => dir.remove());

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof OutpostError, 'expected an OutpostError');
    assert.equal(error.code, 'OUTPOST_CONFIG_INVALID');
    return error.details?.problems as ConfigProblem[];
  }
  assert.fail('expected loadConfig to throw');
}

const ROUTES_YAML = `routes:
  toWorker: FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/worker/inputs/in")
  toCloud:
    route: FROM /messages/modules/worker/outputs/* INTO $upstream
    priority: 0
    timeToLiveSecs: 60
`;

describe('routes in the configuration', () => {
  it('reads routes in the manifest form from a YAML file', () => {
    const { config, origins } = loadConfig({ configFile: file('routes.yaml', ROUTES_YAML), env: {} });
    assert.deepEqual(config.routes, {
      toWorker: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/worker/inputs/in")',
      toCloud: { route: 'FROM /messages/modules/worker/outputs/* INTO $upstream', priority: 0, timeToLiveSecs: 60 },
    });
    assert.equal(origins.get('routes')?.source, 'file');
  });

  it('is not set by default, and takes JSON text from OUTPOST_ROUTES', () => {
    assert.equal(loadConfig({ env: {} }).config.routes, null);
    const { config } = loadConfig({ env: { OUTPOST_ROUTES: '{"up": "FROM /messages/* INTO $upstream"}' } });
    assert.deepEqual(config.routes, { up: 'FROM /messages/* INTO $upstream' });
  });

  it('reports every bad route at once, with its path, position and route error code, beside other problems', () => {
    const configFile = file(
      'bad-routes.yaml',
      `routes:
  good: FROM /messages/* INTO $upstream
  syntax: FROM /messages/* WHERE temp > INTO $upstream
  sink: FROM /messages/* INTO BrokeredEndpoint("/modules/x")
  priority: { route: "FROM /messages/* INTO $upstream", priority: 12 }
mqtt:
  port: -1
`,
    );
    const problems = problemsOf(() => loadConfig({ configFile, env: {} }));
    assert.deepEqual(
      problems.map((p) => [p.path, p.code]).sort(),
      [
        ['mqtt.port', 'OUTPOST_CONFIG_INVALID'],
        ['routes.priority', 'OUTPOST_ROUTE_INVALID_SPEC'],
        ['routes.sink', 'OUTPOST_ROUTE_INVALID_SINK'],
        ['routes.syntax', 'OUTPOST_ROUTE_SYNTAX'],
      ],
    );
    assert.match(problems.find((p) => p.path === 'routes.syntax')!.message, /at line 1, column 31 \(offset 30\)/);
    assert.match(problems.find((p) => p.path === 'routes.priority')!.message, /priority must be an integer from 0/);
    assert.ok(problems.every((p) => p.path === 'mqtt.port' || p.origin === configFile));
  });

  it('refuses a value that is not a map of routes, and JSON that does not parse', () => {
    assert.match(problemsOf(() => loadConfig({ configFile: file('list.yaml', 'routes:\n  - FROM /messages/* INTO $upstream\n'), env: {} }))[0]!.message, /map of route name .*got an array/);
    const [problem] = problemsOf(() => loadConfig({ env: { OUTPOST_ROUTES: '{"up": ' } }));
    assert.equal(problem?.origin, 'OUTPOST_ROUTES');
    assert.match(problem!.message, /not valid JSON/);
  });
});

describe('the authorization policy in the configuration', () => {
  it('reads a policy in the twin form and reports each problem with its path and OUTPOST_AUTH_POLICY_INVALID', () => {
    const good = loadConfig({ configFile: file('policy.yaml', 'auth:\n  policy:\n    - identities: ["{{iot:identity}}"]\n      allow: [{ operations: [mqtt:connect] }]\n'), env: {} });
    assert.deepEqual(good.config.auth.policy, [{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] }]);
    const problems = problemsOf(() =>
      loadConfig({ configFile: file('bad-policy.yaml', 'auth:\n  policy:\n    statements:\n      - { effect: allow, identities: [x], operations: [mqtt:pub], resources: ["a/#/b"] }\n'), env: {} }),
    );
    assert.deepEqual(
      problems.map((p) => [p.path, p.code]),
      [
        ['auth.policy.statements[0].operations[0]', 'OUTPOST_AUTH_POLICY_INVALID'],
        ['auth.policy.statements[0].resources[0]', 'OUTPOST_AUTH_POLICY_INVALID'],
      ],
    );
  });
});

describe('what changed between two configurations', () => {
  it('names the leaves whose values differ, structured ones included', () => {
    const before = loadConfig({ configFile: file('a.yaml', ROUTES_YAML), env: {} }).config;
    const after = loadConfig({ configFile: file('b.yaml', ROUTES_YAML.replace('inputs/in', 'inputs/other') + 'logLevel: debug\n'), env: {} }).config;
    assert.deepEqual(changedLeaves(before, after).sort(), ['logLevel', 'routes']);
    assert.deepEqual(changedLeaves(before, before), []);
  });
});
