// rhea's loggers that are off are replaced by a function that takes no arguments
// (src/hub/amqp-common/quiet-rhea-log.ts); one that DEBUG turned on stays and still writes. Each
// case runs in a child process: which loggers are on is decided when `debug` loads, from DEBUG.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const MODULE = new URL('../../src/hub/amqp-common/quiet-rhea-log.js', import.meta.url).href;

function loggersAfterInstall(debug: string | undefined): { before: Record<string, boolean>; after: Record<string, { silent: boolean; args: number }>; stderr: string } {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(MODULE)});
    const log = require('rhea/lib/log.js');
    const before = Object.fromEntries(Object.entries(log).map(([name, fn]) => [name, fn.enabled === true]));
    const originals = { ...log };
    const { installQuietRheaLog } = await import(${JSON.stringify(MODULE)});
    installQuietRheaLog();
    installQuietRheaLog();
    const after = Object.fromEntries(Object.entries(log).map(([name, fn]) => [name, { silent: fn !== originals[name], args: fn.length }]));
    log.frames('a frame logged: %d', 42);
    log.io('io logged');
    process.stdout.write(JSON.stringify({ before, after }));
  `;
  const env = { ...process.env };
  delete env['DEBUG'];
  if (debug !== undefined) env['DEBUG'] = debug;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  return { ...(JSON.parse(child.stdout) as { before: Record<string, boolean>; after: Record<string, { silent: boolean; args: number }> }), stderr: child.stderr };
}

describe("rhea's loggers", () => {
  it('are all silenced when DEBUG names none of them, and nothing is written', () => {
    const { before, after, stderr } = loggersAfterInstall(undefined);
    assert.ok(Object.keys(before).length >= 8, JSON.stringify(before));
    for (const [name, state] of Object.entries(after)) assert.deepEqual(state, { silent: true, args: 0 }, name);
    assert.equal(stderr, '');
  });

  it('keeps one DEBUG turned on, which still writes, and silences the others', () => {
    const { before, after, stderr } = loggersAfterInstall('rhea:frames');
    assert.equal(before['frames'], true);
    assert.equal(after['frames']!.silent, false);
    for (const [name, state] of Object.entries(after)) if (name !== 'frames') assert.equal(state.silent, true, name);
    assert.match(stderr, /rhea:frames a frame logged: 42/);
    assert.doesNotMatch(stderr, /io logged/);
  });
});
