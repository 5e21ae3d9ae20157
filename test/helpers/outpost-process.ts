import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processStartTicks } from '../../src/agent/runtime/process/process-alive.js';

/** The CLI launcher, as a user runs it. */
export const OUTPOST_BIN = fileURLToPath(new URL('../../../bin/outpost.js', import.meta.url));

export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string };

export interface OutpostProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: LogLine[];
  /** The same lines as written, unparsed (JSON.parse hides a key written twice). */
  readonly rawLines: string[];
  stderr(): string;
  /** Resolves with the first log line matching the predicate (already seen or future). */
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code (or signal name). */
  exited(timeoutMs?: number): Promise<number | string>;
}

/** Environment for a child: the parent's, minus any OUTPOST_* that would leak in, plus overrides. */
export function childEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OUTPOST_')) env[key] = value;
  }
  return { ...env, ...overrides };
}

/**
 * Starts the CLI with `args`; `command` replaces `node bin/outpost.js` (an installed `outpost`, or
 * a wrapper such as setpriv or podman in front of it).
 */
export function spawnOutpost(args: readonly string[], options: { env?: Record<string, string>; cwd?: string; command?: readonly string[] } = {}): OutpostProcess {
  const [file, ...prefix] = options.command ?? [process.execPath, OUTPOST_BIN];
  return spawnLogged(file!, [...prefix, ...args], options);
}

/**
 * Any program whose standard output is read as log lines (JSON, or `non-json` lines). `detached`
 * gives it its own process group, for programs such as npm that run Outpost as a grandchild.
 */
export function spawnLogged(executable: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string; detached?: boolean } = {}): OutpostProcess {
  const child = spawn(executable, args, {
    env: options.env ?? childEnv(),
    cwd: options.cwd ?? process.cwd(),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const lines: LogLine[] = [];
  const rawLines: string[] = [];
  const waiters = new Set<() => void>();
  let stdoutBuffer = '';
  let stderrText = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdoutBuffer += chunk;
    let newline = stdoutBuffer.indexOf('\n');
    while (newline >= 0) {
      const text = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      rawLines.push(text);
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ msg: text, event: 'non-json' });
      }
      newline = stdoutBuffer.indexOf('\n');
    }
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderrText += chunk;
  });
  let exitValue: number | string | undefined;
  const exitPromise = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitValue = code ?? signal ?? -1;
      for (const wake of waiters) wake();
      resolve(exitValue);
    });
  });

  return {
    child,
    lines,
    rawLines,
    stderr: () => stderrText,
    waitFor(predicate, timeoutMs = 15_000) {
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (exitValue !== undefined) {
            done();
            reject(new Error(`outpost exited (${String(exitValue)}) before the awaited log line; stderr: ${stderrText}\nlines: ${JSON.stringify(lines.slice(-5))}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; stderr: ${stderrText}\nlines: ${JSON.stringify(lines.slice(-5))}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    exited(timeoutMs = 15_000) {
      return new Promise<number | string>((resolve, reject) => {
        // Where it stopped: the last log lines (event, module, time) say what shutdown waited on.
        const timer = setTimeout(() => {
          const recent = lines.slice(-15).map((l) => ({ event: l.event, module: (l as Record<string, unknown>).module, time: (l as Record<string, unknown>).time }));
          reject(new Error(`outpost did not exit within ${timeoutMs} ms; last log lines: ${JSON.stringify(recent)}; stderr: ${stderrText.slice(-2000)}`));
        }, timeoutMs);
        void exitPromise.then((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      });
    },
  };
}

export interface HubPorts {
  mqtt: number | null;
  amqp: number | null;
  https: number | null;
  mqttPlain: number | null;
}

/** Starts `outpost <command>` on ephemeral ports and waits for hub.ready. */
export async function startHub(
  options: { command?: string; dataDir: string; args?: readonly string[]; env?: Record<string, string>; timeoutMs?: number; nodeArgs?: readonly string[] },
): Promise<{ outpost: OutpostProcess; ports: HubPorts; ready: LogLine }> {
  const outpost = spawnOutpost(
    [options.command ?? 'hub', '--data-dir', options.dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', ...(options.args ?? [])],
    { env: childEnv(options.env), ...(options.nodeArgs === undefined ? {} : { command: [process.execPath, ...options.nodeArgs, OUTPOST_BIN] }) },
  );
  try {
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', options.timeoutMs);
    return { outpost, ports: ready.ports as HubPorts, ready };
  } catch (error) {
    // Never leave a child running behind a failed start: it would hold the test file open.
    await stopQuietly(outpost);
    throw error;
  }
}

/** SIGTERM, so an agent stops its process modules; SIGKILL if it has not exited within a minute. */
export async function stopGracefully(outpost: OutpostProcess | undefined): Promise<void> {
  if (outpost === undefined || outpost.child.exitCode !== null || outpost.child.signalCode !== null) return;
  outpost.child.kill('SIGTERM');
  await outpost.exited(60_000).catch(() => stopQuietly(outpost));
}

/**
 * Stops a child and waits for it; used in `after` hooks so a failed test leaves nothing running.
 * An agent killed this way cannot stop its process modules (they run in sessions of their own, to
 * survive an agent's restart), so those recorded under its data directory are killed too.
 */
export async function stopQuietly(outpost: OutpostProcess | undefined): Promise<void> {
  if (outpost === undefined || outpost.child.exitCode !== null || outpost.child.signalCode !== null) return;
  outpost.child.kill('SIGKILL');
  await outpost.exited().catch(() => undefined);
  const dataDir = dataDirOf(outpost.child.spawnargs);
  if (dataDir !== undefined) killProcessModules(dataDir);
}

/** `--data-dir X` or `--data-dir=X` among a command line's arguments. */
function dataDirOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data-dir') return args[i + 1];
    if (args[i]!.startsWith('--data-dir=')) return args[i]!.slice('--data-dir='.length);
  }
  return undefined;
}

/**
 * Kills the process group of every module the process runtime recorded under `dataDir` that still
 * runs: the pid's start time (field 22 of /proc/<pid>/stat) must be the recorded one, so a pid
 * reused by another process is left alone.
 */
export function killProcessModules(dataDir: string): void {
  const dir = join(dataDir, 'agent', 'processes');
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const record = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { pid?: number; startTicks?: string };
      if (record.pid === undefined || record.startTicks === undefined) continue;
      if (processStartTicks(record.pid) === record.startTicks) process.kill(-record.pid, 'SIGKILL');
    } catch {
      // Gone already, or not a record: nothing to stop.
    }
  }
}

export function tempDir(prefix = 'outpost-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }) };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runOutpost(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string; lines: LogLine[] }> {
  const outpost = spawnOutpost(args, { env: childEnv(options.env), ...(options.cwd ? { cwd: options.cwd } : {}) });
  let stdout = '';
  outpost.child.stdout.on('data', (chunk: string) => (stdout += chunk));
  const code = await outpost.exited(options.timeoutMs ?? 15_000);
  return { code, stdout, stderr: outpost.stderr(), lines: outpost.lines };
}

/**
 * Temporary directories and child hubs of one test file, cleaned up in its `after` hook even when
 * a test fails half-way.
 */
export function testScope(prefix: string, register: (fn: () => Promise<void>) => void): { newDir(): string; track(outpost: OutpostProcess): void; trackGraceful(outpost: OutpostProcess): void } {
  const running: OutpostProcess[] = [];
  const graceful: OutpostProcess[] = [];
  const dirs: { remove: () => void }[] = [];
  register(async () => {
    await Promise.all(graceful.map(stopGracefully));
    await Promise.all(running.map(stopQuietly));
    for (const dir of dirs) dir.remove();
  });
  return {
    newDir() {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir.path;
    },
    track(outpost) {
      running.push(outpost);
    },
    /** For an agent running process modules: SIGKILL would leave them running (they outlive it by design). */
    trackGraceful(outpost) {
      graceful.push(outpost);
    },
  };
}

/** `runOutpost` for a command that prints JSON: its exit code, parsed output (undefined when not JSON) and standard error. */
// any: tests read whatever fields the command printed.
export async function runOutpostJson(args: readonly string[], options: Parameters<typeof runOutpost>[1] = {}): Promise<{ code: number | string; json: any; stderr: string }> {
  const result = await runOutpost(args, options);
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { code: result.code, json, stderr: result.stderr };
}

/**
 * A free TCP port below the kernel's ephemeral range, for a hub that a test stops and starts again
 * on the same port: a port from the ephemeral range (`--*-port 0`) can be handed to another test's
 * listener while the first hub is down (seen once under the full suite: the child reconnected to a
 * stranger and failed TLS with SELF_SIGNED_CERT_IN_CHAIN until the test timed out). Listeners on
 * port 0 never get one of these.
 */
export async function portOutsideEphemeralRange(): Promise<number> {
  let low = 32_768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // Linux's default range then.
  }
  const from = 10_000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * Math.max(1, low - from));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ port }, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port found between ${from} and ${low}`);
}
