/**
 * Issue 15: a second `outpost run` on the same data directory failed half-started with RocksDB's
 * own `LOCK: Resource temporarily unavailable [OUTPOST_INTERNAL]`. It is now refused before
 * anything opens, naming the process that holds the directory; a holder that died leaves a stale
 * lock, which the next start takes over.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runOutpost, startHub, testScope } from '../helpers/outpost-process.js';

const scope = testScope('outpost-lock-', after);
const ephemeralPorts = ['--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'];

describe('one hub per data directory', () => {
  it('refuses a second hub on the same data directory with its own code and the holder\'s pid', async () => {
    const data = scope.newDir();
    const first = await startHub({ dataDir: data, timeoutMs: 60_000 });
    scope.track(first.outpost);
    for (const command of ['hub', 'run']) {
      const second = await runOutpost([command, '--data-dir', data, ...ephemeralPorts], { timeoutMs: 60_000 });
      assert.equal(second.code, 1, second.stderr);
      assert.ok(second.stderr.includes(`is in use by process ${first.outpost.child.pid} (outpost hub, started `), second.stderr);
      assert.match(second.stderr, /\[OUTPOST_DATA_DIR_IN_USE\]/);
      assert.doesNotMatch(second.stderr, /LOCK|OUTPOST_INTERNAL/);
      assert.ok(!second.lines.some((line) => line.event === 'hub.ready' || line.event === 'store.opened'), 'nothing of the second hub started');
    }
    // The first one is untouched and stops cleanly, removing its lock.
    first.outpost.child.kill('SIGTERM');
    assert.equal(await first.outpost.exited(), 0);
    assert.equal(existsSync(join(data, 'hub.lock')), false);
  });

  it('takes over the lock of a hub that was killed', async () => {
    const data = scope.newDir();
    const first = await startHub({ dataDir: data, timeoutMs: 60_000 });
    scope.track(first.outpost);
    first.outpost.child.kill('SIGKILL');
    await first.outpost.exited();
    assert.ok(existsSync(join(data, 'hub.lock')), 'a killed hub cannot remove its lock');
    const next = await startHub({ dataDir: data, timeoutMs: 60_000 });
    scope.track(next.outpost);
    next.outpost.child.kill('SIGTERM');
    assert.equal(await next.outpost.exited(), 0);
  });
});
