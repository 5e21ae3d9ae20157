import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentConfig, manifestText, removeDir, startAgent, tempDir, writeAtomically, type AgentUnderTest } from '../agent-harness.js';
import { detailOf, waitForOutput } from '../module-output.js';
import { container } from './docker-fixtures.js';
import { dockerApi, startPodman, type PodmanEngine } from './podman-engine.js';

interface Inspect {
  Id: string;
  Image: string;
  Config: { Env: string[]; Labels: Record<string, string> };
  HostConfig: { NetworkMode: string };
  State: { Status: string };
}

describe('agent with the docker runtime (podman Docker API): deploy, update, remove, stopped, invalid, adoption', { timeout: 180_000 }, () => {
  let engine: PodmanEngine;
  let dir: string;
  let file: string;
  let a: AgentUnderTest;
  const settings = () => ({ 'agent.runtime': 'docker', 'agent.dockerSocket': engine.socketPath, 'agent.stopTimeout': '2s' });

  before(async () => {
    engine = await startPodman();
    dir = tempDir('outpost-docker-');
    file = join(dir, 'deployment.json');
    writeAtomically(file, manifestText({ sensor: container({ FOO: '1' }, { startupOrder: 0 }), idle: container({ FOO: 'x' }, { status: 'stopped' }), extra: container({ FOO: 'e' }) }));
    a = await startAgent(agentConfig(join(dir, 'data'), file, settings()));
  });
  after(async () => {
    await a?.agent.stop();
    await engine?.stop();
    removeDir(dir);
  });

  it('creates labelled containers with createOptions passed through and env merged, and starts them', async () => {
    const reported = await a.until('sensor and extra running, idle stopped', (r) => r.modules.sensor?.runtimeStatus === 'running' && r.modules.extra?.runtimeStatus === 'running' && r.modules.idle?.runtimeStatus === 'stopped', 60_000);
    assert.equal((reported.lastDesiredStatus as { code: number }).code, 200);
    const inspect = (await dockerApi<Inspect>(engine.socketPath, 'GET', '/containers/sensor/json')).body;
    assert.equal(inspect.HostConfig.NetworkMode, 'none');
    assert.equal(inspect.Config.Labels['io.outpost.module'], 'sensor');
    assert.ok(inspect.Config.Env.includes('FOO=1'));
    assert.ok(inspect.Config.Env.includes('IOTEDGE_MODULEID=sensor'));
    assert.ok(inspect.Config.Env.some((e) => e.startsWith('IOTEDGE_WORKLOADURI=unix://')));
    const idle = (await dockerApi<Inspect>(engine.socketPath, 'GET', '/containers/idle/json')).body;
    assert.equal(idle.State.Status, 'created');
    await waitForOutput(a.agent, 'sensor', 'module start: MODULE=sensor FOO=1 VARIANT=one', 20_000);
  });

  it('reads a container log within a time window (issue 19: since/until go to the engine, which times each line)', async () => {
    const read = async (window: { sinceMs?: number; untilMs?: number }) => {
      let text = '';
      for await (const chunk of await a.agent.runtime.logs('sensor', window)) text += (chunk as Buffer).toString('utf8');
      return text;
    };
    const hourMs = 3_600_000;
    assert.match(await read({ sinceMs: Date.now() - hourMs }), /module start: MODULE=sensor FOO=1/);
    assert.equal(await read({ sinceMs: Date.now() + hourMs }), '');
    assert.equal(await read({ untilMs: Date.now() - hourMs }), '');
  });

  it('recreates a container whose env or image changed and leaves the others alone', async () => {
    const sensorBefore = await detailOf(a.agent, 'sensor');
    const extraBefore = await detailOf(a.agent, 'extra');
    writeAtomically(file, manifestText({ sensor: container({ FOO: '2' }, { startupOrder: 0, image: 'localhost/edge-test:2' }), idle: container({ FOO: 'x' }, { status: 'stopped' }), extra: container({ FOO: 'e' }) }));
    await a.until('sensor running again', (r) => r.modules.sensor?.runtimeStatus === 'running' && (r.modules.sensor?.settings as { image?: string }).image === 'localhost/edge-test:2', 30_000);
    assert.notEqual(await detailOf(a.agent, 'sensor'), sensorBefore);
    await waitForOutput(a.agent, 'sensor', 'module start: MODULE=sensor FOO=2 VARIANT=two', 20_000);
    assert.equal(await detailOf(a.agent, 'extra'), extraBefore);
  });

  it('stops and removes a container taken out of the manifest', async () => {
    writeAtomically(file, manifestText({ sensor: container({ FOO: '2' }, { startupOrder: 0, image: 'localhost/edge-test:2' }), idle: container({ FOO: 'x' }, { status: 'stopped' }) }));
    await a.until('extra removed', (r) => r.modules.extra === undefined, 30_000);
    assert.equal((await dockerApi(engine.socketPath, 'GET', '/containers/extra/json')).status, 404);
  });

  it('rejects a manifest with errors (400, naming the field) and disturbs no container', async () => {
    const sensorBefore = await detailOf(a.agent, 'sensor');
    const bad = JSON.parse(manifestText({ sensor: container({ FOO: '3' }, { startupOrder: 0 }) })) as { modulesContent: { $edgeAgent: { 'properties.desired': { modules: Record<string, Record<string, unknown>> } } } };
    bad.modulesContent.$edgeAgent['properties.desired'].modules.sensor!.settings = { image: 'localhost/edge-test:1', createOptions: '{"HostConfig":' };
    writeAtomically(file, JSON.stringify(bad));
    const reported = await a.until('400 reported', (r) => (r.lastDesiredStatus as { code: number }).code === 400, 20_000);
    assert.match((reported.lastDesiredStatus as { description: string }).description, /modules\.sensor\.settings\.createOptions: the joined createOptions chunks are not valid JSON/);
    assert.equal(await detailOf(a.agent, 'sensor'), sensorBefore);
    assert.equal(a.module('sensor')!.runtimeStatus, 'running');
  });

  it('adopts its containers after an agent restart instead of duplicating them', async () => {
    writeAtomically(file, manifestText({ sensor: container({ FOO: '2' }, { startupOrder: 0, image: 'localhost/edge-test:2' }), idle: container({ FOO: 'x' }, { status: 'stopped' }) }));
    await a.until('200 again', (r) => (r.lastDesiredStatus as { code: number }).code === 200, 20_000);
    const sensorBefore = await detailOf(a.agent, 'sensor');
    await a.agent.stop(); // docker + onShutdown auto: containers keep running
    const running = await dockerApi<Inspect>(engine.socketPath, 'GET', '/containers/sensor/json');
    assert.equal(running.body.State.Status, 'running');
    a = await startAgent(agentConfig(join(dir, 'data'), file, settings()));
    await a.until('sensor reported running', (r) => r.modules.sensor?.runtimeStatus === 'running', 30_000);
    assert.equal(await detailOf(a.agent, 'sensor'), sensorBefore);
    assert.ok(!a.logs.some((l) => l.event === 'agent.plan'), 'nothing recreated');
    const all = await dockerApi<{ Names: string[] }[]>(engine.socketPath, 'GET', '/containers/json?all=1');
    assert.deepEqual(all.body.map((c) => c.Names[0]!.replace(/^\//, '')).sort(), ['idle', 'sensor']);
  });
});
