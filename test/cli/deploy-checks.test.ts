/**
 * Issue 15: `outpost deploy` of a manifest with an invalid route printed "status 200", exited 0
 * and dropped the route (only the hub's log said so); a copy of the embedded manifest in another
 * folder deployed with 200 and its modules then failed with "Cannot find module". Both are now
 * refused with Azure's 400 and every problem, and `outpost check` reports the same
 * (deploy-copied-manifest.test.ts: the embedded manifest now works from any folder).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, startHub, testScope, type OutpostProcess } from '../helpers/outpost-process.js';
import { DEFAULT_DEPLOYMENT_FILE } from '../../src/agent/index.js';

const scope = testScope('outpost-deploy-checks-', after);

describe('outpost deploy and outpost check refuse what would fail once applied', () => {
  let dir: string;
  let data: string;
  let outpost: OutpostProcess;
  before(async () => {
    dir = scope.newDir();
    data = join(dir, 'data');
    const initial = join(dir, 'initial.json');
    writeFileSync(initial, hubManifest({ all: 'FROM /messages/* INTO $upstream' }));
    ({ outpost } = await startHub({ command: 'run', dataDir: data, args: ['--deployment', initial], timeoutMs: 60_000 }));
    scope.trackGraceful(outpost);
    await outpost.waitFor((line) => line.event === 'agent.ready', 60_000);
  });

  it('answers 400 for a deployment with an invalid route, naming the route, the position and the reason; nothing changes', async () => {
    const bad = join(dir, 'bad-route.json');
    writeFileSync(bad, hubManifest({ hot: 'FROM /messages/* WHERE temperature > 30 INTO $upstream', fine: 'FROM /messages/* INTO $upstream' }));
    const result = await runOutpost(['deploy', bad, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(result.code, 2, `deploy must fail; stdout: ${result.stdout}`);
    assert.match(result.stderr, /deployment rejected with status 400; nothing was changed/);
    assert.match(result.stderr, /routes\.hot: route "hot": invalid operands to binary operator '>'.* at line 1, column 36 \(offset 35\) \(OUTPOST_ROUTE_TYPE\)/);
    assert.match(result.stderr, /\n {6}FROM \/messages\/\* WHERE temperature > 30 INTO \$upstream\n {41}\^/);
    assert.doesNotMatch(result.stdout, /status 200/);
    const list = await runOutpost(['list', '--data-dir', data], { timeoutMs: 60_000 });
    // Reported as Azure reports a rejected deployment: lastDesiredStatus 400 with the reason.
    assert.match(list.stdout, /^deployment: version 2, status 400 \(.*routes\.hot: route "hot": invalid operands/);
    assert.ok(!outpost.lines.some((line) => line.event === 'hub.routes_replaced'), 'the hub kept its routes');

    const check = await runOutpost(['check', '--deployment', bad, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(check.code, 2);
    assert.match(check.stderr, /route "hot": invalid operands .* at line 1, column 36/);
  });

  it('refuses a process module whose script does not exist, naming the module and the path it looked for', async () => {
    // The embedded manifest as it was before ${OUTPOST_INSTALL_DIR}: cwd ".." from its folder.
    const copyDir = join(dir, 'copied');
    mkdirSync(copyDir);
    const copy = join(copyDir, 'deployment.json');
    writeFileSync(copy, readFileSync(DEFAULT_DEPLOYMENT_FILE, 'utf8').replaceAll('"${OUTPOST_INSTALL_DIR}"', '".."'));
    const result = await runOutpost(['deploy', copy, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(result.code, 2, `deploy must fail; stdout: ${result.stdout}`);
    assert.match(result.stderr, /status 400/);
    const missing = join(dir, 'modules', 'dist', 'filter', 'main.js');
    assert.ok(result.stderr.includes(`modules.tempFilter.settings.process.args[0]: module tempFilter: the Node.js script ${missing} does not exist`), result.stderr);
    assert.match(result.stderr, /\(OUTPOST_AGENT_MODULE_PROGRAM_MISSING\)/);
    const check = await runOutpost(['check', '--deployment', copy, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(check.code, 2);
    assert.ok(check.stderr.includes(`the Node.js script ${missing} does not exist`), check.stderr);

    const command = join(dir, 'no-such-program');
    writeFileSync(join(dir, 'missing-command.json'), hubManifest({}).replace('"modules":{}', JSON.stringify({ modules: { m: { version: '1.0', type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command } } } } }).slice(1, -1)));
    const missingCommand = await runOutpost(['deploy', join(dir, 'missing-command.json'), '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(missingCommand.code, 2, missingCommand.stdout);
    assert.ok(missingCommand.stderr.includes(`module m: the command ${command} does not exist or is not executable`), missingCommand.stderr);
  });
});
