import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentConfig, manifestText, removeDir, startAgent, tempDir, writeAtomically } from '../agent-harness.js';
import { waitForOutput } from '../module-output.js';
import { container } from './docker-fixtures.js';
import { dockerApi, startPodman, type PodmanEngine } from './podman-engine.js';
import { startTestRegistry, type TestRegistry } from './test-registry.js';

const USERNAME = 'outpost-puller';
const PASSWORD = 'pull-secret-7f3a';

describe('agent with the docker runtime (podman Docker API): pulls from a registry with credentials', { timeout: 180_000 }, () => {
  let registry: TestRegistry;
  let engine: PodmanEngine;
  let dir: string;
  let digest: string;
  const settings = () => ({ 'agent.runtime': 'docker', 'agent.dockerSocket': engine.socketPath, 'agent.stopTimeout': '2s' });
  const credentials = (password: string) => ({ local: { username: USERNAME, password, address: registry.host } });

  before(async () => {
    registry = await startTestRegistry(USERNAME, PASSWORD);
    engine = await startPodman({ insecureRegistries: [registry.host] });
    const rootfs = readFileSync(join(engine.dir, 'rootfs.tar'));
    digest = registry.addImage('outpost/pulled', '1', rootfs, { Cmd: ['/bin/mod.sh'], Env: ['PATH=/bin', 'VARIANT=pulled'] });
    registry.addImage('outpost/guarded', '1', rootfs, { Cmd: ['/bin/mod.sh'], Env: ['PATH=/bin', 'VARIANT=guarded'] });
    dir = tempDir('outpost-docker-pull-');
    // An operator's shell may point DOCKER_HOST elsewhere; dockerode reads it when not told
    // otherwise, and agent.dockerSocket must win. (podman itself does not read these.)
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:9';
    process.env.DOCKER_TLS_VERIFY = '1';
  });
  after(async () => {
    delete process.env.DOCKER_HOST;
    delete process.env.DOCKER_TLS_VERIFY;
    await engine?.stop();
    await registry?.stop();
    removeDir(dir);
  });

  it('pulls with the manifest credentials, runs the image, and starts an image pinned by digest after checking it', async () => {
    const file = join(dir, 'pull.json');
    const modules = {
      pulled: container({}, { image: `${registry.host}/outpost/pulled:1`, imagePullPolicy: 'on-create' }),
      pinned: container({}, { image: `${registry.host}/outpost/pulled@${digest}`, imagePullPolicy: 'on-create' }),
    };
    writeAtomically(file, manifestText(modules, 'docker', credentials(PASSWORD)));
    const a = await startAgent(agentConfig(join(dir, 'pull-data'), file, settings()));
    try {
      const reported = await a.until('both running', (r) => r.modules.pulled?.runtimeStatus === 'running' && r.modules.pinned?.runtimeStatus === 'running', 60_000);
      assert.equal((reported.lastDesiredStatus as { code: number }).code, 200);
      await waitForOutput(a.agent, 'pulled', 'VARIANT=pulled', 20_000);
      await waitForOutput(a.agent, 'pinned', 'VARIANT=pulled', 20_000);
      assert.ok(registry.authorizations.includes(`Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`), 'the registry saw the manifest credentials');
      const pinned = await dockerApi<{ Config: { Labels: Record<string, string> } }>(engine.socketPath, 'GET', '/containers/pinned/json');
      assert.equal(pinned.body.Config.Labels['io.outpost.digest'], digest);
      const image = await dockerApi<{ RepoDigests: string[] }>(engine.socketPath, 'GET', `/images/${encodeURIComponent(`${registry.host}/outpost/pulled:1`)}/json`);
      assert.ok(image.body.RepoDigests.includes(`${registry.host}/outpost/pulled@${digest}`), JSON.stringify(image.body.RepoDigests));
      assert.ok(!JSON.stringify(a.logs).includes(PASSWORD), 'the password is never logged');
    } finally {
      await a.agent.stop();
    }
  });

  it('reports a refused login inside the pull stream and a reference the engine rejects as pull failures', async () => {
    const file = join(dir, 'refused.json');
    const modules = {
      guarded: container({}, { image: `${registry.host}/outpost/guarded:1`, imagePullPolicy: 'on-create' }),
      // The engine answers this pull with HTTP 500 before any stream.
      malformed: container({}, { image: 'localhost/Bad..Reference:1', imagePullPolicy: 'on-create' }),
    };
    writeAtomically(file, manifestText(modules, 'docker', credentials('wrong-password')));
    const a = await startAgent(agentConfig(join(dir, 'refused-data'), file, settings()));
    try {
      await a.until('both failed to create', (r) => /pulling .* failed/.test(String(r.modules.guarded?.statusDescription)) && /pulling .* failed/.test(String(r.modules.malformed?.statusDescription)), 60_000);
      assert.match(String(a.module('guarded')!.statusDescription), /pulling 127\.0\.0\.1:\d+\/outpost\/guarded:1 failed: .*(unauthorized|authentication required)/i);
      assert.match(String(a.module('malformed')!.statusDescription), /pulling localhost\/Bad\.\.Reference:1 failed: .*invalid reference format/);
      const failures = a.logs.filter((l) => l.event === 'agent.command_failed' && l.code === 'OUTPOST_AGENT_IMAGE_PULL_FAILED');
      assert.deepEqual([...new Set(failures.map((l) => l.module))].sort(), ['guarded', 'malformed']);
      const guarded = failures.find((l) => l.module === 'guarded')!;
      assert.equal((guarded.details as { status?: number }).status, 200, 'the refusal came inside an HTTP 200 pull stream');
      for (const name of ['guarded', 'malformed']) assert.equal((await dockerApi(engine.socketPath, 'GET', `/containers/${name}/json`)).status, 404, `no container ${name} without its image`);
      assert.ok(!JSON.stringify(a.logs).includes('wrong-password'), 'the password is never logged');
    } finally {
      await a.agent.stop();
    }
  });
});
