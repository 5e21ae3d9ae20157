/**
 * Stopping a process module whose wrapper was between setting its trap and starting the module
 * when the SIGTERM came. The wrapper (a small shell that records the module's exit code) outlives
 * the signal by design; the module, started a moment later, never saw it, and the stop used to wait
 * out the whole stop timeout (a graceful shutdown hung for agent.stopTimeout, 30 s by default: seen
 * as a rare shutdown-test timeout under load). The real wrapper's window is microseconds; here a
 * wrapper-like process with a sleep in that window makes it certain, and is adopted by the runtime
 * as a restarted agent adopts its modules. The runtime looked for such late modules once, 0.25 s
 * after the signal; a wrapper the scheduler ran later than that (a full suite on two cores: a
 * shutdown test's hub waited out its module's stop) was missed, so it looks again until the stop
 * ends: the second case starts the module 0.7 s after the signal. A late module is one that was
 * not the wrapper's child when the SIGTERM went out (the runtime lists them first), not one whose
 * start time reads after the signal's: /proc's start times and /proc/uptime disagree by a tick.
 * The third case is a child that was listed but was not the module yet: the wrapper's fork between
 * fork and exec holds the wrapper's trap and swallows the signal, and the module it then becomes
 * never got one. Here a child shell with the same trap stands in for that fork (its window made
 * 0.4 s long), execing the module after the signal; the runtime sees its command line change.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { childrenOf, processStartTicks } from '../../src/agent/runtime/process/process-alive.js';
import { ProcessRecordStore } from '../../src/agent/runtime/process/process-record.js';
import { ProcessRuntime } from '../../src/agent/runtime/process/process-runtime.js';
import { createLogger } from '../../src/log/index.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-stop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Like the runtime's wrapper, with a 0.4 s gap between the trap and the module's start. */
const SLOW_WRAPPER = `trap true TERM INT HUP; sleep 0.4; "${process.execPath}" -e "setInterval(() => {}, 1000)"; exit $?`;
/**
 * The same with a gap the group's SIGTERM does not cut short (the sleep in a session of its own):
 * the module starts about 0.7 s after the signal, after the runtime's first look for late children
 * (0.25 s), as a wrapper the scheduler runs late on a loaded machine would.
 */
const LATER_WRAPPER = `trap true TERM INT HUP; setsid sleep 0.7; "${process.execPath}" -e "setInterval(() => {}, 1000)"; exit $?`;
/**
 * A child that swallows the group's SIGTERM in the wrapper's trap, then becomes the module (exec)
 * once its sleep (which the signal ends) is over: as the wrapper's own fork does between fork and exec.
 */
const TRAPPED_WRAPPER = `trap true TERM INT HUP; /bin/sh -c 'trap true TERM INT HUP; sleep 0.4; exec "${process.execPath}" -e "setInterval(() => {}, 1000)"'; exit $?`;
const STOP_TIMEOUT_MS = 8_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startWrapper(script = SLOW_WRAPPER): number {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/** Waits (up to 5 s, for a loaded machine) until `pid` has a child started at or after `sinceTicks`. */
async function childSince(pid: number, sinceTicks: number): Promise<number> {
  for (const giveUpAt = Date.now() + 5_000; Date.now() < giveUpAt; await sleep(20)) {
    const [child] = childrenOf(pid).filter((c) => Number(processStartTicks(c) ?? -1) >= sinceTicks);
    if (child !== undefined) return child;
  }
  throw new Error(`process ${pid} started no child`);
}

/** The session id of `pid` (field 6 of /proc/<pid>/stat), or undefined once it is gone. */
function sessionOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
  } catch {
    return undefined;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('process runtime: a SIGTERM that arrives before the wrapper starts the module', () => {
  it("childrenOf names a process's children as they come, and none of a process that is gone", async () => {
    const pid = startWrapper();
    try {
      const first = await childSince(pid, 0); // the sleep
      assert.ok(childrenOf(pid).includes(first));
      // One tick after the sleep's own start: the module, started after the sleep.
      const late = await childSince(pid, Number(processStartTicks(first)) + 1);
      assert.notEqual(late, first);
      assert.ok(childrenOf(pid).includes(late));
      assert.deepEqual(childrenOf(999_999_999), [], 'no such process: nothing');
    } finally {
      process.kill(-pid, 'SIGKILL');
    }
  });

  for (const [when, script] of [
    ['right after the signal', SLOW_WRAPPER],
    ['after the first look for late children', LATER_WRAPPER],
    ['by a child that swallowed the signal', TRAPPED_WRAPPER],
  ] as const) {
    it(`stops the module started ${when} without waiting out the stop timeout`, async () => {
      const pid = startWrapper(script);
      const records = new ProcessRecordStore(join(dir, 'processes'));
      records.save({
        id: 'late',
        configHash: 'h',
        command: '/bin/sh',
        args: [],
        cwd: dir,
        env: {},
        healthcheck: undefined,
        state: 'running',
        pid,
        startTicks: processStartTicks(pid),
        startedAtMs: Date.now(),
        finishedAtMs: undefined,
        exitCode: undefined,
      });
      const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
      const runtime = new ProcessRuntime({ dir: join(dir, 'processes'), logger });
      try {
        await runtime.open();
        // The wrapper has set its trap (its first statement) once it runs its sleep; the module does not exist yet.
        const gap = await childSince(pid, 0);
        // LATER_WRAPPER's sleep must have left the group first, or the group's SIGTERM ends it early.
        for (let session = sessionOf(gap); script === LATER_WRAPPER && session !== undefined && session !== gap; session = sessionOf(gap)) await sleep(5);
        // TRAPPED_WRAPPER's child has set its trap (its first statement) once it runs its sleep.
        if (script === TRAPPED_WRAPPER) await childSince(gap, 0);
        const startedAt = Date.now();
        await runtime.stopModule('late', STOP_TIMEOUT_MS);
        const tookMs = Date.now() - startedAt;
        assert.ok(tookMs < STOP_TIMEOUT_MS / 2, `the stop took ${tookMs} ms: it waited for the timeout (and killed)`);
        const [state] = await runtime.list();
        assert.equal(state?.state, 'exited');
        await sleep(100);
        assert.ok(!groupAlive(pid), 'nothing of the module is left');
      } finally {
        await runtime.close();
        if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
      }
    });
  }
});
