/**
 * The agent's edgeAgent_ metrics come from the same endpoint as the hub's: `outpost run` with one
 * process module, scraped on the plain metrics port (--metrics-port 0): the module's start is
 * counted, `outpost restart` counts a stop and a start, and host figures are there.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, startHub, testScope } from '../helpers/outpost-process.js';
import { promtool, unexpectedProblems } from './promtool.js';

const scope = testScope('outpost-agent-metrics-', after);

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function scrapeUntil(url: string, done: (text: string) => boolean, timeoutMs: number): Promise<string> {
  let text = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    text = await (await fetch(url)).text();
    if (done(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return text;
}

describe('edgeAgent metrics', () => {
  it('counts module starts and restarts and reports host figures, on the hub\'s endpoint', async () => {
    const dir = scope.newDir();
    const data = join(dir, 'data');
    const manifest = join(dir, 'deployment.json');
    const withModule = JSON.parse(hubManifest({})) as { modulesContent: { $edgeAgent: { 'properties.desired': { modules: Record<string, unknown> } } } };
    withModule.modulesContent.$edgeAgent['properties.desired'].modules.m = { version: '1.2', type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command: '/bin/sh', args: ['-c', 'exec sleep 600'] } } };
    writeFileSync(manifest, JSON.stringify(withModule));
    const { outpost } = await startHub({ command: 'run', dataDir: data, args: ['--deployment', manifest, '--metrics-port', '0'], timeoutMs: 60_000 });
    scope.trackGraceful(outpost);
    const listening = await outpost.waitFor((line) => line.event === 'metrics.listening', 60_000);
    const url = `http://127.0.0.1:${String(listening.port)}/metrics`;
    await outpost.waitFor((line) => line.event === 'agent.module_started' && line.module === 'm', 60_000);
    const started = await scrapeUntil(url, (t) => sample(t, 'edgeAgent_module_start_total', { module_name: 'm' }) === 1, 30_000);
    assert.equal(sample(started, 'edgeAgent_module_start_total', { module_name: 'm', module_version: '1.2', ms_telemetry: 'True' }), 1);
    assert.equal(sample(started, 'edgeAgent_module_prepare_update_total', { module_name: 'm' }), 1);
    assert.ok(sample(started, 'edgeAgent_command_latency_seconds', { command: 'start' })! >= 0);
    assert.ok(sample(started, 'edgeAgent_total_disk_space_bytes')! > 0);
    assert.ok(sample(started, 'edgeAgent_available_disk_space_bytes')! > 0);
    assert.ok(sample(started, 'edgeAgent_used_memory_bytes', { module_name: 'edgeHub' })! > 0);
    assert.ok(sample(started, 'edgeAgent_host_uptime_seconds')! > 0);
    assert.equal(sample(started, 'edgeAgent_metadata'), 0);
    // The hub's metrics are on the same endpoint.
    assert.ok(sample(started, 'edgehub_connected_clients') !== undefined);
    // Running time accumulates between scrapes for a module desired and running.
    const later = await scrapeUntil(url, (t) => sample(t, 'edgeAgent_total_time_running_correctly_seconds', { module_name: 'm' })! > 0, 30_000);
    assert.ok(sample(later, 'edgeAgent_total_time_expected_running_seconds', { module_name: 'm' })! > 0);

    const restart = await runOutpost(['restart', 'm', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(restart.code, 0, restart.stderr);
    const restarted = await scrapeUntil(url, (t) => sample(t, 'edgeAgent_module_start_total', { module_name: 'm' }) === 2, 30_000);
    assert.equal(sample(restarted, 'edgeAgent_module_start_total', { module_name: 'm' }), 2);
    assert.equal(sample(restarted, 'edgeAgent_module_stop_total', { module_name: 'm', module_version: '1.2' }), 1);
    assert.deepEqual(unexpectedProblems(promtool(restarted).problems), []);
  });
});
