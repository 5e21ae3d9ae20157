import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { OutpostError } from '../../../errors/index.js';
import type { Logger } from '../../../log/index.js';
import type { ActualModule } from '../../plan/index.js';
import type { CreateRequest, LogOptions, ModuleRuntime } from '../module-runtime.js';
import { HealthProbe } from './health-probe.js';
import { LogWindowFilter } from '../log-window.js';
import { logFileStream, rotateLog } from './log-file.js';
import { childrenOf, commandLineOf, isSameProcessAlive, processStartTicks } from './process-alive.js';
import { ProcessRecordStore, type ProcessRecord } from './process-record.js';

export interface ProcessRuntimeOptions {
  /** <dataDir>/agent/processes: records, exit files and logs. */
  readonly dir: string;
  readonly logger: Logger;
  /** Variables every module inherits from the host (PATH, HOME, …), below its own env. */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** agent.processLogMaxSize. */
  readonly logMaxBytes?: number;
  /** How often modules adopted from a previous agent (not our children) are checked for exit. */
  readonly adoptedPollMs?: number;
}

/**
 * Each module runs under a tiny shell that records the module's exit code in a file, so an agent
 * that adopted the module (it is not that agent's child, so no exit event) still learns how it
 * ended. `trap` with a command (not '') keeps SIGTERM's default action for the module itself.
 */
const WRAPPER = 'trap true TERM INT HUP; f=$1; shift; "$@"; c=$?; echo "$c" > "$f.tmp" && mv "$f.tmp" "$f"; exit "$c"';
const KILL_WAIT_MS = 5_000;
/** How often a stop looks for a module the wrapper started after the group's SIGTERM (it missed the signal). */
const LATE_START_CHECK_MS = 250;
const STOP_POLL_MS = 50;

/**
 * The process runtime: modules as supervised OS processes, each in its own session and process
 * group (signals reach the module's children too), output appended to a log file it holds itself.
 * Processes survive the agent; a restarted agent adopts them from their records, checking pid and
 * kernel start time so a reused pid is never mistaken for a module.
 */
export class ProcessRuntime implements ModuleRuntime {
  readonly kind = 'process' as const;
  private readonly store: ProcessRecordStore;
  private readonly records = new Map<string, ProcessRecord>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly probes = new Map<string, HealthProbe>();
  private readonly listeners: ((id: string) => void)[] = [];
  private poll: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ProcessRuntimeOptions) {
    this.store = new ProcessRecordStore(options.dir);
  }

  async open(): Promise<void> {
    for (const record of this.store.loadAll()) {
      this.records.set(record.id, record);
      if (record.state !== 'running' || record.pid === undefined) continue;
      if (isSameProcessAlive(record.pid, record.startTicks)) {
        this.options.logger.info({ event: 'agent.module_adopted', module: record.id, pid: record.pid }, 'adopted a running module');
        this.startProbe(record);
      } else this.markExited(record, this.store.readExitCode(record.id), this.exitTimeOf(record.id));
    }
    this.poll = setInterval(() => this.checkAdopted(), this.options.adoptedPollMs ?? 1_000);
    this.poll.unref();
  }

  async list(): Promise<ActualModule[]> {
    return [...this.records.values()].map((r) => {
      rotateLog(this.store.logFile(r.id), this.options.logMaxBytes ?? 0);
      return {
        id: r.id,
        configHash: r.configHash,
        state: r.state,
        exitCode: r.exitCode,
        startedAtMs: r.startedAtMs,
        finishedAtMs: r.finishedAtMs,
        health: r.state === 'running' ? (this.probes.get(r.id)?.state ?? 'none') : 'none',
        ...(r.pid === undefined ? {} : { detail: `pid ${r.pid}` }),
      };
    });
  }

  async create(request: CreateRequest): Promise<void> {
    const { spec, env } = request;
    const settings = spec.process;
    if (settings === undefined) throw this.error(spec.id, 'the module has no settings.process');
    const record: ProcessRecord = {
      id: spec.id,
      configHash: spec.configHash,
      // "node" is the Node.js running Outpost, so sample modules need nothing on PATH.
      command: settings.command === 'node' ? process.execPath : settings.command,
      args: settings.args,
      cwd: settings.cwd,
      env: { ...this.options.baseEnv, ...env },
      healthcheck: settings.healthcheck,
      state: 'created',
      pid: undefined,
      startTicks: undefined,
      startedAtMs: undefined,
      finishedAtMs: undefined,
      exitCode: undefined,
    };
    this.store.save(record);
    this.records.set(spec.id, record);
  }

  async startModule(id: string): Promise<void> {
    const record = this.recordOf(id);
    if (record.state === 'running') return;
    if (!existsSync(record.cwd)) throw this.error(id, `working directory ${record.cwd} does not exist`);
    this.store.clearExit(id);
    const log = openSync(this.store.logFile(id), 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WRAPPER, 'outpost-module', this.store.exitFile(id), record.command, ...record.args], {
        cwd: record.cwd,
        env: { ...record.env },
        detached: true, // own session and process group; survives the agent
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log);
    }
    if (child.pid === undefined) {
      const cause = await new Promise<unknown>((resolve) => child.once('error', resolve));
      throw this.error(id, `cannot start: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
    }
    child.unref();
    // exitCode and finishedAtMs of the previous run stay: they are reported until the next exit.
    Object.assign(record, { state: 'running', pid: child.pid, startTicks: processStartTicks(child.pid), startedAtMs: Date.now() });
    this.store.save(record);
    this.children.set(id, child);
    child.once('exit', (code, signal) => {
      if (this.closed || this.children.get(id) !== child) return;
      this.children.delete(id);
      const signalNumber = signal === null ? undefined : constants.signals[signal];
      this.markExited(record, code ?? (signalNumber === undefined ? undefined : 128 + signalNumber), Date.now());
    });
    this.startProbe(record);
    this.options.logger.info({ event: 'agent.module_started', module: id, pid: child.pid }, 'module started');
  }

  async stopModule(id: string, timeoutMs: number): Promise<void> {
    const record = this.recordOf(id);
    if (record.state !== 'running' || record.pid === undefined) return;
    const pid = record.pid;
    // The wrapper starts the module right after setting its trap. A SIGTERM that came in between
    // reached the wrapper, which outlives it by design, and not the module, which did not exist
    // yet: without this the stop waited out the whole stop timeout. So the wrapper's children
    // are listed before the group's SIGTERM (those get it), and any child not on that list gets
    // one of its own, checked every LATE_START_CHECK_MS until the stop ends: on a loaded machine
    // the module may start later than a first check, and comparing start times with the moment
    // of the signal missed a module that read a tick early (both seen as a shutdown test timing
    // out under a full suite). Only the wrapper's own children count: what the module starts
    // while shutting down is the module's business.
    // A child listed before the signal may not be the module yet: between fork and exec, the
    // wrapper's child still holds the wrapper's trap, which swallows the signal, and the module it
    // becomes never gets one (a shutdown test waited out its module's stop timeout again under a
    // full suite). So each child's command line is kept as it was before the signal, and a child
    // whose command line has changed since (it exec'd the module) gets a SIGTERM of its own.
    // A module that exec'd between the listing and the signal gets a second one: it ends at once
    // instead of gracefully, in a window of microseconds, where a missed signal cost the timeout.
    const signalled = new Map<number, string | undefined>();
    for (const child of childrenOf(pid)) signalled.set(child, commandLineOf(child));
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waitMs = Math.min(LATE_START_CHECK_MS, deadline - Date.now());
      if (waitMs <= 0) break;
      if (await this.waitExit(record, waitMs)) return;
      for (const child of childrenOf(pid)) {
        const commandLine = commandLineOf(child);
        if (signalled.has(child) && signalled.get(child) === commandLine) continue;
        signalled.set(child, commandLine);
        signalProcess(child, 'SIGTERM');
      }
    }
    if (await this.waitExit(record, 0)) return;
    this.options.logger.warn({ event: 'agent.module_killed', module: id, pid, stopTimeoutMs: timeoutMs }, 'module did not stop in time; killed');
    signalGroup(pid, 'SIGKILL');
    if (!(await this.waitExit(record, KILL_WAIT_MS))) throw this.error(id, `process ${pid} survived SIGKILL`);
  }

  async removeModule(id: string): Promise<void> {
    if (!this.records.has(id)) return;
    await this.stopModule(id, KILL_WAIT_MS);
    this.probes.get(id)?.stop();
    this.probes.delete(id);
    this.children.delete(id);
    this.records.delete(id);
    this.store.remove(id);
  }

  async logs(id: string, options: LogOptions): Promise<Readable> {
    this.recordOf(id);
    const stream = logFileStream(this.store.logFile(id), options);
    if (options.sinceMs === undefined && options.untilMs === undefined) return stream;
    // The file has no times of its own: the lines' own times decide (log-window.ts).
    return stream.pipe(new LogWindowFilter({ sinceMs: options.sinceMs, untilMs: options.untilMs }));
  }

  onChange(listener: (id: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll !== undefined) clearInterval(this.poll);
    for (const probe of this.probes.values()) probe.stop();
    this.probes.clear();
  }

  private recordOf(id: string): ProcessRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new OutpostError('OUTPOST_AGENT_MODULE_NOT_FOUND', `no module ${id} in the process runtime`, { details: { module: id } });
    return record;
  }

  private startProbe(record: ProcessRecord): void {
    this.probes.get(record.id)?.stop();
    if (record.healthcheck === undefined) return;
    const probe = new HealthProbe(record.healthcheck, record.cwd, record.env, (health) => {
      this.options.logger.info({ event: 'agent.module_health', module: record.id, health }, `module is ${health}`);
      this.emit(record.id);
    });
    this.probes.set(record.id, probe);
    probe.start();
  }

  private markExited(record: ProcessRecord, exitCode: number | undefined, finishedAtMs: number): void {
    // Whatever the module left in its process group (children it spawned, or the module itself
    // when only the wrapper was killed) goes with it, as a container's processes do. The group id
    // cannot have been reused while any member lives, so this never hits a stranger.
    if (record.pid !== undefined) killGroup(record.pid);
    this.probes.get(record.id)?.stop();
    this.probes.delete(record.id);
    Object.assign(record, { state: 'exited', pid: undefined, startTicks: undefined, exitCode, finishedAtMs });
    if (this.records.get(record.id) === record) this.store.save(record);
    this.options.logger.info({ event: 'agent.module_exited', module: record.id, exitCode }, 'module exited');
    this.emit(record.id);
  }

  /** Adopted modules are not our children: notice their exit by polling. */
  private checkAdopted(): void {
    for (const record of this.records.values()) {
      if (record.state !== 'running' || record.pid === undefined || this.children.has(record.id)) continue;
      if (!isSameProcessAlive(record.pid, record.startTicks)) this.markExited(record, this.store.readExitCode(record.id), this.exitTimeOf(record.id));
    }
  }

  private async waitExit(record: ProcessRecord, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (record.state !== 'running') return true;
      if (!this.children.has(record.id) && record.pid !== undefined && !isSameProcessAlive(record.pid, record.startTicks)) {
        this.markExited(record, this.store.readExitCode(record.id), Date.now());
        return true;
      }
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
  }

  private exitTimeOf(id: string): number {
    try {
      return statSync(this.store.exitFile(id)).mtimeMs;
    } catch {
      return Date.now();
    }
  }

  private emit(id: string): void {
    if (this.closed) return;
    for (const listener of this.listeners) listener(id);
  }

  private error(id: string, message: string, cause?: unknown): OutpostError {
    return new OutpostError('OUTPOST_AGENT_COMMAND_FAILED', `module ${id}: ${message}`, { details: { module: id }, ...(cause === undefined ? {} : { cause }) });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    signalProcess(pid, signal);
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is empty
  }
}
