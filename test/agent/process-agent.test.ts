import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentConfig, manifestText, removeDir, startAgent, tempDir, writeAtomically, type AgentUnderTest, type ModuleDef } from './agent-harness.js';
import { isAlive, pidOf, waitForOutput } from './module-output.js';

/** A process module running a shell script. */
const sh = (script: string, extra: Omit<ModuleDef, 'settings'> & { healthcheck?: unknown } = {}): ModuleDef => {
  const { healthcheck, ...rest } = extra;
  return { type: 'process', ...rest, settings: { process: { command: '/bin/sh', args: ['-c', script], ...(healthcheck === undefined ? {} : { healthcheck }) } } };
};
const LONG_RUNNING = 'echo "hello $IOTEDGE_MODULEID FOO=$FOO"; exec sleep 600';

describe('agent with the process runtime: deploy, update, remove', () => {
  let dir: string;
  let file: string;
  let a: AgentUnderTest;
  before(async () => {
    dir = tempDir('outpost-agent-');
    file = join(dir, 'deployment.json');
    writeAtomically(file, manifestText({ second: sh(LONG_RUNNING, { startupOrder: 1, env: { FOO: 'b' } }), first: sh(LONG_RUNNING, { startupOrder: 0, env: { FOO: '1' } }) }));
    a = await startAgent(agentConfig(join(dir, 'data'), file));
  });
  after(async () => {
    await a?.agent.stop();
    removeDir(dir);
  });

  it('deploys the modules in startup order, each with its env and identity, and reports 200', async () => {
    const reported = await a.until('both modules running', (r) => r.modules.first?.runtimeStatus === 'running' && r.modules.second?.runtimeStatus === 'running');
    assert.deepEqual(reported.lastDesiredStatus, { code: 200, description: '' });
    const plan = a.logs.find((l) => l.event === 'agent.plan');
    assert.deepEqual(plan?.commands, ['create first', 'start first', 'create second', 'start second']);
    await waitForOutput(a.agent, 'first', 'hello first FOO=1');
    await waitForOutput(a.agent, 'second', 'hello second FOO=b');
    assert.equal(reported.modules.first!.restartCount, 0);
    assert.match(String(reported.modules.first!.lastStartTimeUtc), /^\d{4}-\d\d-\d\dT/);
  });

  it('recreates a module whose env changed in the watched manifest and leaves the other one alone', async () => {
    const firstPid = await pidOf(a.agent, 'first');
    const secondPid = await pidOf(a.agent, 'second');
    const version = a.agent.reported!.lastDesiredVersion as number;
    writeAtomically(file, manifestText({ second: sh(LONG_RUNNING, { startupOrder: 1, env: { FOO: 'b' } }), first: sh(LONG_RUNNING, { startupOrder: 0, env: { FOO: '2' } }) }));
    await waitForOutput(a.agent, 'first', 'hello first FOO=2');
    await a.until('first running again', (r) => r.modules.first?.runtimeStatus === 'running' && r.lastDesiredVersion === version + 1);
    assert.ok(!isAlive(firstPid!), 'the old process is gone');
    assert.notEqual(await pidOf(a.agent, 'first'), firstPid);
    assert.equal(await pidOf(a.agent, 'second'), secondPid);
  });

  it('stops and removes a module taken out of the manifest', async () => {
    const secondPid = await pidOf(a.agent, 'second');
    assert.ok(isAlive(secondPid!));
    writeAtomically(file, manifestText({ first: sh(LONG_RUNNING, { startupOrder: 0, env: { FOO: '2' } }) }));
    await a.until('second removed', (r) => r.modules.second === undefined);
    assert.ok(!isAlive(secondPid!));
    assert.deepEqual((await a.agent.runtime.list()).map((m) => m.id), ['first']);
  });
});

describe('agent with the process runtime: restart policies', () => {
  it('restarts a crashing module with growing backoff and reports it; honours never and on-failure', async () => {
    const dir = tempDir('outpost-agent-');
    const file = join(dir, 'deployment.json');
    writeAtomically(
      file,
      manifestText({
        crasher: sh('echo boom; exit 3', { restartPolicy: 'on-failure' }),
        cleanAlways: sh('exit 0', { restartPolicy: 'always' }),
        crashNever: sh('exit 1', { restartPolicy: 'never' }),
        cleanOnFailure: sh('exit 0', { restartPolicy: 'on-failure' }),
      }),
    );
    const a = await startAgent(agentConfig(join(dir, 'data'), file));
    try {
      await a.until('three restarts of crasher and cleanAlways', (r) => (r.modules.crasher?.restartCount as number) >= 3 && (r.modules.cleanAlways?.restartCount as number) >= 3);
      const crasher = a.module('crasher')!;
      assert.equal(crasher.exitCode, 3);
      // Backoff 200 ms × 2^n: the starts are at least 200, 400, 800 ms apart.
      const starts = [...new Set(a.history.map((r) => r.modules.crasher?.lastStartTimeUtc as string | undefined).filter((s) => s !== undefined))].map((s) => Date.parse(s));
      assert.ok(starts.length >= 4, JSON.stringify(starts));
      for (let n = 0; n < 3; n++) assert.ok(starts[n + 1]! - starts[n]! >= 200 * 2 ** n - 2, `gap ${n}: ${starts[n + 1]! - starts[n]!} ms`);
      const backoff = a.history.map((r) => r.modules.crasher).find((m) => m?.runtimeStatus === 'backoff');
      assert.match(String(backoff?.statusDescription), /exited with code 3; restart \d+ in \d+s/);
      // By now a restart of the other two would have happened (their backoff is the same 200 ms).
      assert.equal(a.module('crashNever')!.restartCount, 0);
      assert.equal(a.module('crashNever')!.runtimeStatus, 'failed');
      assert.equal(a.module('crashNever')!.exitCode, 1);
      assert.equal(a.module('cleanOnFailure')!.restartCount, 0);
      assert.equal(a.module('cleanOnFailure')!.runtimeStatus, 'stopped');
      const output = await waitForOutput(a.agent, 'crasher', 'boom');
      assert.ok(output.split('boom').length - 1 >= 3, 'each run appended to the same log');
    } finally {
      await a.agent.stop();
      removeDir(dir);
    }
  });

  it('restarts an unhealthy module under on-unhealthy, and only reports it under on-failure', async () => {
    const dir = tempDir('outpost-agent-');
    const file = join(dir, 'deployment.json');
    const failing = { test: ['CMD-SHELL', 'exit 1'], interval: '100ms', timeout: '2s', retries: 2 };
    writeAtomically(
      file,
      manifestText({
        sick: sh('exec sleep 600', { restartPolicy: 'on-unhealthy', healthcheck: failing }),
        sickOnFailure: sh('exec sleep 600', { restartPolicy: 'on-failure', healthcheck: failing }),
        fine: sh('exec sleep 600', { restartPolicy: 'on-unhealthy', healthcheck: { ...failing, test: ['CMD', 'true'] } }),
      }),
    );
    const a = await startAgent(agentConfig(join(dir, 'data'), file));
    try {
      await a.until('sick restarted twice', (r) => (r.modules.sick?.restartCount as number) >= 2);
      assert.ok(a.logs.some((l) => l.event === 'agent.plan' && (l.commands as string[]).includes('restart sick (unhealthy, restart 1)')), 'restarted because unhealthy');
      await a.until('sickOnFailure unhealthy', (r) => r.modules.sickOnFailure?.runtimeStatus === 'unhealthy');
      assert.equal(a.module('sickOnFailure')!.restartCount, 0);
      assert.equal(a.module('fine')!.runtimeStatus, 'running');
      assert.equal(a.module('fine')!.restartCount, 0);
    } finally {
      await a.agent.stop();
      removeDir(dir);
    }
  });

  it('honours status stopped, and starts the module again when it is set back to running', async () => {
    const dir = tempDir('outpost-agent-');
    const file = join(dir, 'deployment.json');
    writeAtomically(file, manifestText({ idle: sh(LONG_RUNNING, { status: 'stopped' }), busy: sh(LONG_RUNNING) }));
    const a = await startAgent(agentConfig(join(dir, 'data'), file));
    try {
      await a.until('busy running, idle stopped', (r) => r.modules.busy?.runtimeStatus === 'running' && r.modules.idle?.runtimeStatus === 'stopped');
      assert.equal(await pidOf(a.agent, 'idle'), undefined);
      const busyPid = await pidOf(a.agent, 'busy');
      writeAtomically(file, manifestText({ idle: sh(LONG_RUNNING, { status: 'stopped' }), busy: sh(LONG_RUNNING, { status: 'stopped' }) }));
      await a.until('busy stopped', (r) => r.modules.busy?.runtimeStatus === 'stopped');
      assert.ok(!isAlive(busyPid!));
      assert.equal(a.module('busy')!.restartCount, 0);
      writeAtomically(file, manifestText({ idle: sh(LONG_RUNNING, { status: 'stopped' }), busy: sh(LONG_RUNNING) }));
      await a.until('busy running again', (r) => r.modules.busy?.runtimeStatus === 'running');
    } finally {
      await a.agent.stop();
      removeDir(dir);
    }
  });
});
