/**
 * The test helpers' stopQuietly (SIGKILL, for `after` hooks): an agent killed that way cannot stop
 * its process modules, which run in sessions of their own to survive an agent's restart, so the
 * helper kills those recorded under its data directory. Without that, every failed `outpost run`
 * or `outpost agent` test left its modules running for the rest of the suite.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnOutpost, stopQuietly } from '../helpers/outpost-process.js';
import { until } from '../helpers/eventually.js';
import { manifestText, removeDir, tempDir, writeAtomically } from './agent-harness.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stopQuietly on an agent', () => {
  const dir = tempDir('outpost-killed-agent-');
  after(() => removeDir(dir));

  it('also stops the process modules recorded under its data directory', async () => {
    const data = join(dir, 'data');
    writeAtomically(join(dir, 'deployment.json'), manifestText({ sleeper: { type: 'process', settings: { process: { command: '/bin/sh', args: ['-c', 'sleep 300'] } } } }));
    const agent = spawnOutpost(['agent', '--data-dir', data, '--deployment', join(dir, 'deployment.json')]);
    const started = await agent.waitFor((line) => line.event === 'agent.module_started' && line.module === 'sleeper');
    const pid = started.pid as number;
    assert.ok(Number.isInteger(pid) && alive(pid), JSON.stringify(started));
    await stopQuietly(agent);
    await until(() => !alive(pid), 5_000, 'the module gone with the killed agent');
  });
});
