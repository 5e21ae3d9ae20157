/**
 * Issue 15: a copy of the embedded deployment manifest in another folder failed with "Cannot find
 * module '/dist/modules/filter/main.js'": its modules' cwd was ".." of the manifest's folder. The
 * embedded manifest now names ${OUTPOST_INSTALL_DIR}, so a copy anywhere runs the sample modules.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, spawnOutpost, startHub, testScope, type OutpostProcess } from '../helpers/outpost-process.js';
import { DEFAULT_DEPLOYMENT_FILE, INSTALL_DIR, readProcessSettings } from '../../src/agent/index.js';

const scope = testScope('outpost-deploy-copy-', after);

describe('the embedded deployment manifest copied to another folder', () => {
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

  it('runs the sample modules of the embedded manifest copied to any folder', async () => {
    const copyDir = join(dir, 'elsewhere');
    mkdirSync(copyDir);
    const copy = join(copyDir, 'deployment.json');
    writeFileSync(copy, readFileSync(DEFAULT_DEPLOYMENT_FILE, 'utf8'));
    const check = await runOutpost(['check', '--deployment', copy, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /deployment: ok .*modules: tempSensor, tempFilter/);
    const deployed = await runOutpost(['deploy', copy, '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
    // The module really runs from there: before, it died with "Cannot find module".
    const logs = spawnOutpost(['logs', 'tempFilter', '--follow', '--data-dir', data]);
    scope.track(logs);
    await logs.waitFor((line) => line.event === 'filter.ready', 60_000);
    logs.child.kill('SIGINT');
    await logs.exited();

    const parsed = readProcessSettings({ command: 'node', args: ['${OUTPOST_INSTALL_DIR}/x.js'], cwd: '${OUTPOST_INSTALL_DIR}' }, copyDir);
    assert.ok(parsed.ok);
    assert.equal(parsed.settings.cwd, INSTALL_DIR);
    assert.deepEqual(parsed.settings.args, [`${INSTALL_DIR}/x.js`]);
  });
});
