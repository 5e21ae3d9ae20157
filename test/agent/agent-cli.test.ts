import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { childEnv, OUTPOST_BIN, spawnOutpost, type OutpostProcess } from '../helpers/outpost-process.js';
import { manifestText, removeDir, tempDir, writeAtomically, type ModuleDef } from './agent-harness.js';

const sh = (script: string, extra: Omit<ModuleDef, 'settings'> = {}): ModuleDef => ({ type: 'process', ...extra, settings: { process: { command: '/bin/sh', args: ['-c', script] } } });

function outpost(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [OUTPOST_BIN, ...args], { env: childEnv() }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('outpost list, logs, restart and deploy against a running agent', () => {
  let dir: string;
  let data: string;
  let agent: OutpostProcess;
  before(async () => {
    dir = tempDir('outpost-cli-');
    data = join(dir, 'data');
    writeAtomically(join(dir, 'deployment.json'), manifestText({ talker: sh('i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.1; done') }));
    agent = spawnOutpost(['agent', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), '--set', 'agent.restartBackoffBase=200ms']);
    await agent.waitFor((l) => l.event === 'agent.module_started' && l.module === 'talker');
  });
  after(async () => {
    agent?.child.kill('SIGTERM');
    await agent?.exited(10_000);
    removeDir(dir);
  });

  it('lists the modules with their status', async () => {
    const result = await outpost(['list', '--data-dir', data]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^deployment: version 1, status 200/);
    // Issue 19: uptime and the command line, and the hub as a row (not running: this is `outpost agent` alone).
    assert.match(result.stdout, /\ntalker\s+running\s+0\s+(?:\d+[dhms] ?)+\s+running\s+\/bin\/sh -c "i=0; while/);
    assert.match(result.stdout, /\nedgeHub\s+not running\s+-\s+no hub answers on this data directory\n/);
    const json = await outpost(['list', '--json', '--data-dir', data]);
    assert.equal((JSON.parse(json.stdout) as { modules: Record<string, { runtimeStatus: string }> }).modules.talker!.runtimeStatus, 'running');
  });

  it("prints a module's output, the last N lines with --tail, and streams with --follow", async () => {
    const tail = await outpost(['logs', 'talker', '--tail', '2', '--data-dir', data]);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout.trimEnd().split('\n').length, 2);
    assert.match(tail.stdout, /^line \d+\n/);
    const follower = spawnOutpost(['logs', 'talker', '--follow', '--tail', '0', '--data-dir', data]);
    await follower.waitFor((l) => l.event === 'non-json' && /^line \d+$/.test(String(l.msg)));
    follower.child.kill('SIGINT');
    assert.equal(await follower.exited(), 0);
    const unknown = await outpost(['logs', 'nobody', '--data-dir', data]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /OUTPOST_AGENT_MODULE_NOT_FOUND/);
  });

  it('restarts a module on request', async () => {
    const started = agent.lines.filter((l) => l.event === 'agent.module_started' && l.module === 'talker').length;
    const result = await outpost(['restart', 'talker', '--data-dir', data]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'restarted talker\n');
    await agent.waitFor(() => agent.lines.filter((l) => l.event === 'agent.module_started' && l.module === 'talker').length === started + 1);
    assert.ok(agent.lines.some((l) => l.event === 'agent.module_restart_requested' && l.module === 'talker'));
  });

  it('deploys a manifest, and rejects a bad one with its status code and every problem', async () => {
    const good = join(dir, 'good.json');
    writeAtomically(good, manifestText({ talker: sh('while :; do sleep 1; done'), other: sh('exec sleep 600') }));
    const applied = await outpost(['deploy', good, '--data-dir', data]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^deployed .*good\.json: status 200\n$/);
    const list = await outpost(['list', '--data-dir', data]);
    assert.match(list.stdout, /\nother\s+running/);
    const bad = join(dir, 'bad.json');
    writeAtomically(bad, manifestText({ other: sh('x', { restartPolicy: 'maybe', status: 'paused' }) }));
    const rejected = await outpost(['deploy', bad, '--data-dir', data]);
    assert.equal(rejected.code, 2);
    assert.match(rejected.stderr, /deployment rejected with status 400; nothing was changed/);
    assert.match(rejected.stderr, /modules\.other\.status: required: one of running, stopped, not "paused"/);
    assert.match(rejected.stderr, /modules\.other\.restartPolicy/);
    const after = await outpost(['list', '--data-dir', data]);
    assert.match(after.stdout, /status 400/);
    assert.match(after.stdout, /\nother\s+running/);
  });

  it('says so when no agent is running', async () => {
    const result = await outpost(['restart', 'x', '--data-dir', join(dir, 'elsewhere')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no agent is running .*OUTPOST_AGENT_NOT_RUNNING/);
  });
});
