/**
 * Issue 19: `outpost list` shows each module's uptime and image or command, and the hub as a row;
 * `outpost logs` takes --since/--until and reads a stopped module's log file, also when no agent
 * runs any more.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, startHub, testScope, type HubPorts, type OutpostProcess } from '../helpers/outpost-process.js';

const scope = testScope('outpost-list-logs-', after);

/** Lines with their own times (ISO-prefixed and pino JSON), an untimed continuation line, then idle. */
const SCRIPT = [
  'echo "2026-01-01T10:00:00Z early"',
  'echo "2026-01-01T11:00:00Z middle"',
  'echo "    continuation of middle"',
  'echo "2026-01-01T12:00:00Z late"',
  `echo '{"level":30,"time":${Date.parse('2026-01-01T12:30:00Z')},"event":"json.line"}'`,
  'exec sleep 600',
].join('; ');

function manifest(status: 'running' | 'stopped'): string {
  const parsed = JSON.parse(hubManifest({})) as { modulesContent: { $edgeAgent: { 'properties.desired': Record<string, unknown> } } };
  parsed.modulesContent.$edgeAgent['properties.desired'].modules = {
    ticker: { version: '1.0', type: 'process', status, restartPolicy: 'never', settings: { process: { command: '/bin/sh', args: ['-c', SCRIPT] } } },
  };
  return JSON.stringify(parsed);
}

describe('outpost list and outpost logs', () => {
  let dir: string;
  let data: string;
  let outpost: OutpostProcess;
  let ports: HubPorts;
  before(async () => {
    dir = scope.newDir();
    data = join(dir, 'data');
    writeFileSync(join(dir, 'running.json'), manifest('running'));
    ({ outpost, ports } = await startHub({ command: 'run', dataDir: data, args: ['--deployment', join(dir, 'running.json')], timeoutMs: 60_000 }));
    scope.trackGraceful(outpost);
    await outpost.waitFor((line) => line.event === 'agent.module_started' && line.module === 'ticker', 60_000);
  });

  it('lists uptime, the command line, and the hub itself with its process and ports', async () => {
    const list = await runOutpost(['list', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\nNAME\s+STATUS\s+RESTARTS\s+UPTIME\s+DESCRIPTION\s+IMAGE\/COMMAND\n/);
    assert.match(list.stdout, /\nticker\s+running\s+0\s+(?:\d+[dhms] ?)+\s+running\s+\/bin\/sh -c "echo /);
    const hubRow = new RegExp(`\\nedgeHub\\s+running\\s+(?:\\d+[dhms] ?)+\\s+ports mqtt:${ports.mqtt} amqp:${ports.amqp} https:${ports.https}\\s+outpost \\S+ \\(pid ${outpost.child.pid}\\)\\n`);
    assert.match(list.stdout, hubRow);
    assert.match(list.stdout, /\nedgeAgent\s+running\s+(?:\d+[dhms] ?)+\s+outpost /);
  });

  it('--since and --until keep the lines written in that window (by the times the lines carry)', async () => {
    const window = await runOutpost(['logs', 'ticker', '--since', '2026-01-01T10:30:00Z', '--until', '2026-01-01T11:30:00Z', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(window.code, 0, window.stderr);
    assert.equal(window.stdout, '2026-01-01T11:00:00Z middle\n    continuation of middle\n');
    const late = await runOutpost(['logs', 'ticker', '--since', '2026-01-01T11:59:00Z', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(late.stdout, `2026-01-01T12:00:00Z late\n{"level":30,"time":${Date.parse('2026-01-01T12:30:00Z')},"event":"json.line"}\n`);
    const recent = await runOutpost(['logs', 'ticker', '--since', '1 day', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(recent.stdout, '', 'every line is older than a day');
    const bad = await runOutpost(['logs', 'ticker', '--since', 'yesterday-ish', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since takes a duration back from now/);
  });

  it("reads a stopped module's log file, through the agent and after the agent has stopped", async () => {
    writeFileSync(join(dir, 'stopped.json'), manifest('stopped'));
    const deployed = await runOutpost(['deploy', join(dir, 'stopped.json'), '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
    // The last lines: the module's own, then what its shell says when stopped ("Terminated").
    const stopped = await runOutpost(['logs', 'ticker', '--tail', '3', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /"event":"json.line"/);

    outpost.child.kill('SIGTERM');
    assert.equal(await outpost.exited(60_000), 0);
    const offline = await runOutpost(['logs', 'ticker', '--until', '2026-01-01T10:30:00Z', '--data-dir', data], { timeoutMs: 60_000 });
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stderr, /no agent is running; reading ticker's log file .*ticker\.log/);
    assert.equal(offline.stdout, '2026-01-01T10:00:00Z early\n');
    const list = await runOutpost(['list', '--data-dir', data], { timeoutMs: 60_000 });
    assert.match(list.stdout, /\nedgeHub\s+not running\s+-\s+no hub answers/);
  });
});
