/**
 * Issue 19: `outpost check` runs the validation `outpost deploy` applies (validateForApply, one
 * function for both): for each broken manifest, check fails with the same Azure status code and
 * the same problems, word for word, as the running agent's answer to deploy; a manifest deploy
 * accepts, check passes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, runOutpostJson, startHub, testScope, type OutpostProcess } from '../helpers/outpost-process.js';

const scope = testScope('outpost-check-parity-', after);
const PORTS = ['--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'];

function withModules(modules: Record<string, unknown>, systemModules: Record<string, unknown> = {}, routes: Record<string, unknown> = {}): string {
  const manifest = JSON.parse(hubManifest(routes)) as { modulesContent: { $edgeAgent: { 'properties.desired': Record<string, unknown> } } };
  Object.assign(manifest.modulesContent.$edgeAgent['properties.desired'], { modules, systemModules });
  return JSON.stringify(manifest);
}

const sleeper = (status: string) => ({ version: '1.0', type: 'process', status, restartPolicy: 'always', settings: { process: { command: '/bin/sleep', args: ['600'] } } });

const CASES: Record<string, string> = {
  'a module status "runing"': withModules({ m: sleeper('runing') }),
  'a system module status "runing"': withModules({}, { edgeHub: { type: 'docker', status: 'runing', settings: { image: 'x' } } }),
  'a route that does not compile': withModules({}, {}, { hot: 'FROM /messages/* WHERE temperature > 30 INTO $upstream' }),
  'a process module whose program is missing': withModules({ m: { ...sleeper('running'), settings: { process: { command: '/no/such/program' } } } }),
  'an empty manifest': '  \n',
};

describe('outpost check and outpost deploy: one validation', () => {
  let dir: string;
  let data: string;
  let outpost: OutpostProcess;
  before(async () => {
    dir = scope.newDir();
    data = join(dir, 'data');
    writeFileSync(join(dir, 'initial.json'), hubManifest({}));
    ({ outpost } = await startHub({ command: 'run', dataDir: data, args: ['--deployment', join(dir, 'initial.json')], timeoutMs: 60_000 }));
    scope.trackGraceful(outpost);
    await outpost.waitFor((line) => line.event === 'agent.ready', 60_000);
  });

  for (const [name, text] of Object.entries(CASES)) {
    it(`refuses ${name} with the same status and problems`, async () => {
      const file = join(dir, `${name.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, text);
      const deployed = await runOutpost(['deploy', file, '--data-dir', data], { timeoutMs: 60_000 });
      assert.equal(deployed.code, 2, deployed.stdout);
      const [head, ...lines] = deployed.stderr.trimEnd().split('\n');
      const status = /deployment rejected with status (\d+)/.exec(head!)?.[1];
      assert.ok(status !== undefined, deployed.stderr);

      const checked = await runOutpostJson(['check', '-o', 'json', '--deployment', file, '--data-dir', data, ...PORTS], { timeoutMs: 60_000 });
      assert.equal(checked.code, 2);
      const deployment = checked.json.checks.find((c: { id: string }) => c.id === 'deployment-valid');
      assert.equal(deployment.status, 'fail');
      assert.match(deployment.message, new RegExp(`\\(status ${status}\\)$`));
      assert.deepEqual(deployment.details.join('\n').split('\n'), lines.map((line) => line.slice(2)));
    });
  }

  it('passes what deploy accepts', async () => {
    const file = join(dir, 'good.json');
    writeFileSync(file, withModules({ m: sleeper('running') }, {}, { up: 'FROM /messages/* INTO $upstream' }));
    const checked = await runOutpostJson(['check', '-o', 'json', '--deployment', file, '--data-dir', data, ...PORTS], { timeoutMs: 60_000 });
    assert.equal(checked.json.checks.find((c: { id: string }) => c.id === 'deployment-valid').status, 'pass');
    const deployed = await runOutpost(['deploy', file, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
  });
});
