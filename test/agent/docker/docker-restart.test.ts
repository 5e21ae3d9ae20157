import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentConfig, manifestText, removeDir, startAgent, tempDir, writeAtomically } from '../agent-harness.js';
import { container } from './docker-fixtures.js';
import { dockerApi, startPodman, type PodmanEngine } from './podman-engine.js';

const SECOND_NS = 1_000_000_000;

describe('agent with the docker runtime (podman Docker API): restart policies, health, pulls, digests', { timeout: 180_000 }, () => {
  let engine: PodmanEngine;
  let dir: string;
  const settings = () => ({ 'agent.runtime': 'docker', 'agent.dockerSocket': engine.socketPath, 'agent.stopTimeout': '2s' });

  before(async () => {
    engine = await startPodman();
    dir = tempDir('outpost-docker-');
  });
  after(async () => {
    await engine?.stop();
    removeDir(dir);
  });

  it('restarts a crashing container with backoff and reports it; honours never and on-failure', async () => {
    const file = join(dir, 'crash.json');
    writeAtomically(
      file,
      manifestText({
        crasher: container({ LOOPS: '0', EXIT_CODE: '3' }, { restartPolicy: 'on-failure' }),
        never: container({ LOOPS: '0', EXIT_CODE: '1' }, { restartPolicy: 'never' }),
        clean: container({ LOOPS: '0', EXIT_CODE: '0' }, { restartPolicy: 'on-failure' }),
      }),
    );
    const a = await startAgent(agentConfig(join(dir, 'crash-data'), file, settings()));
    try {
      await a.until('crasher restarted twice', (r) => (r.modules.crasher?.restartCount as number) >= 2, 60_000);
      assert.equal(a.module('crasher')!.exitCode, 3);
      assert.ok(a.history.some((r) => r.modules.crasher?.runtimeStatus === 'backoff'));
      const starts = [...new Set(a.history.map((r) => r.modules.crasher?.lastStartTimeUtc as string | undefined).filter((s) => s !== undefined))].map((s) => Date.parse(s));
      // podman reports whole seconds in places; the second gap (400 ms backoff) is still visible as growth.
      assert.ok(starts.length >= 3, JSON.stringify(starts));
      // podman may answer an inspect of a just-exited container with its exit code not yet set;
      // the agent's next look corrects it, so wait for the settled state rather than sample it.
      await a.until('never settled as failed', (r) => r.modules.never?.runtimeStatus === 'failed' && r.modules.clean?.runtimeStatus === 'stopped', 30_000);
      assert.equal(a.module('never')!.runtimeStatus, 'failed');
      assert.equal(a.module('never')!.restartCount, 0);
      assert.equal(a.module('never')!.exitCode, 1);
      assert.equal(a.module('clean')!.runtimeStatus, 'stopped');
      assert.equal(a.module('clean')!.restartCount, 0);
    } finally {
      await a.agent.stop();
    }
  });

  it('restarts a container whose health check fails under on-unhealthy', async () => {
    const file = join(dir, 'health.json');
    const healthcheck = { Healthcheck: { Test: ['CMD-SHELL', 'cat /tmp/not-there'], Interval: SECOND_NS / 5, Timeout: SECOND_NS, Retries: 1 } };
    writeAtomically(
      file,
      manifestText({
        sick: container({}, { restartPolicy: 'on-unhealthy', createOptions: healthcheck }),
        sickReported: container({}, { restartPolicy: 'on-failure', createOptions: healthcheck }),
      }),
    );
    const a = await startAgent(agentConfig(join(dir, 'health-data'), file, settings()));
    try {
      await a.until('sick restarted', (r) => (r.modules.sick?.restartCount as number) >= 1, 60_000);
      assert.ok(a.logs.some((l) => l.event === 'agent.plan' && (l.commands as string[]).includes('restart sick (unhealthy, restart 1)')), 'restarted because unhealthy');
      await a.until('sickReported unhealthy', (r) => r.modules.sickReported?.runtimeStatus === 'unhealthy', 30_000);
      assert.equal(a.module('sickReported')!.restartCount, 0);
    } finally {
      await a.agent.stop();
    }
  });

  it('detects a failed pull from the error inside the pull stream and reports 500', async () => {
    const file = join(dir, 'pull.json');
    writeAtomically(file, manifestText({ ghost: container({}, { image: 'localhost:1/outpost/none:1', imagePullPolicy: 'on-create' }) }));
    const a = await startAgent(agentConfig(join(dir, 'pull-data'), file, settings()));
    try {
      const reported = await a.until('500 reported', (r) => (r.lastDesiredStatus as { code: number }).code === 500, 60_000);
      const description = (reported.lastDesiredStatus as { description: string }).description;
      assert.match(description, /create ghost: pulling localhost:1\/outpost\/none:1 failed: .+/);
      assert.ok(a.logs.some((l) => l.event === 'agent.command_failed' && l.code === 'OUTPOST_AGENT_IMAGE_PULL_FAILED'));
      assert.match(String(a.module('ghost')!.statusDescription), /pulling .* failed/);
    } finally {
      await a.agent.stop();
    }
  });

  it('verifies an image pinned by digest before starting it, and refuses a mismatch', async () => {
    const image = await dockerApi<{ RepoDigests: string[] }>(engine.socketPath, 'GET', '/images/localhost%2Fedge-test:1/json');
    const digest = image.body.RepoDigests[0]!.split('@')[1]!;
    const wrong = `sha256:${'0'.repeat(64)}`;
    const file = join(dir, 'digest.json');
    writeAtomically(file, manifestText({ pinned: container({}, { digest }), forged: container({}, { digest: wrong }) }));
    const a = await startAgent(agentConfig(join(dir, 'digest-data'), file, settings()));
    try {
      const reported = await a.until('pinned running, forged refused', (r) => r.modules.pinned?.runtimeStatus === 'running' && (r.lastDesiredStatus as { code: number }).code === 500, 60_000);
      assert.match((reported.lastDesiredStatus as { description: string }).description, /start forged: .*does not have the pinned digest sha256:0{64}; not started/);
      assert.notEqual(a.module('forged')!.runtimeStatus, 'running');
      assert.ok(a.logs.some((l) => l.event === 'agent.command_failed' && l.code === 'OUTPOST_AGENT_IMAGE_DIGEST_MISMATCH'));
      const forged = await dockerApi<{ State: { Status: string } }>(engine.socketPath, 'GET', '/containers/forged/json');
      assert.equal(forged.body.State.Status, 'created');
    } finally {
      await a.agent.stop();
    }
  });
});
