import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError, toOutpostError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { DeploymentStatusCode, type Deployment, type DeploymentStatus } from '../manifest/index.js';
import { describeCommand, plan, type ActualModule, type RestartOptions } from '../plan/index.js';
import type { ModuleEnvironmentProvider } from '../runtime/module-environment.js';
import type { ModuleRuntime } from '../runtime/module-runtime.js';
import { AgentStateStore } from './agent-state-store.js';
import { PlanRunner, type CommandObserver } from './plan-runner.js';
import { buildReportedProperties, reportedPatch, type ReportedProperties } from './reported-properties.js';

export interface ReconcilerOptions {
  readonly runtime: ModuleRuntime;
  readonly environment: ModuleEnvironmentProvider;
  readonly restart: RestartOptions;
  readonly stopTimeoutMs: number;
  readonly reconcileIntervalMs: number;
  /** <dataDir>/agent: state.json and reported.json. */
  readonly stateDir: string;
  readonly version: string;
  readonly logger: Logger;
  readonly observer?: CommandObserver;
}

export type ReportListener = (reported: ReportedProperties, patch: Record<string, unknown>) => void;

const NO_DEPLOYMENT: DeploymentStatus = { code: DeploymentStatusCode.ConfigEmptyError, description: 'no deployment received yet' };

/**
 * The reconcile loop: list what runs, plan against the deployment, run the plan, report. One
 * reconcile at a time; a trigger during one (a module exited, a new deployment, `outpost restart`)
 * runs another right after. Between triggers it wakes when a backoff or a retry falls due, and
 * every reconcileInterval as a safety net.
 *
 * Invariants: without a valid deployment nothing is touched (a rejected manifest never disturbs
 * what runs); only modules the runtime reports as ours are ever stopped or removed.
 */
export class Reconciler {
  private deployment: Deployment | undefined;
  private desiredVersion = 0;
  private rejected: DeploymentStatus | undefined;
  private applied: DeploymentStatus = NO_DEPLOYMENT;
  private readonly runner: PlanRunner;
  private readonly state: AgentStateStore;
  private readonly reportFile: string;
  private reported: ReportedProperties | undefined;
  private readonly listeners: ReportListener[] = [];
  private lastActual: readonly ActualModule[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private pending = false;
  private queued = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly startedAtMs = Date.now();

  constructor(private readonly options: ReconcilerOptions) {
    mkdirSync(options.stateDir, { recursive: true });
    this.state = new AgentStateStore(join(options.stateDir, 'state.json'));
    this.reportFile = join(options.stateDir, 'reported.json');
    this.runner = new PlanRunner({ runtime: options.runtime, environment: options.environment, stopTimeoutMs: options.stopTimeoutMs, restart: options.restart, logger: options.logger, observer: options.observer });
    options.runtime.onChange(() => this.trigger());
  }

  /**
   * A new valid deployment: applied at once; failed commands of the old one are forgotten.
   * `desiredVersion`: the twin's desired `$version` (from above); a local counter of contents otherwise.
   */
  setDeployment(deployment: Deployment, contentHash: string, desiredVersion?: number): void {
    this.deployment = deployment;
    this.desiredVersion = desiredVersion ?? this.state.desiredVersionFor(contentHash);
    this.rejected = undefined;
    this.runner.resetFailures();
    this.trigger();
  }

  /** A manifest that failed validation: reported with its code; the last valid one stays applied. */
  rejectDeployment(status: DeploymentStatus, contentHash: string, desiredVersion?: number): void {
    this.desiredVersion = desiredVersion ?? this.state.desiredVersionFor(contentHash);
    this.rejected = status;
    this.trigger();
  }

  get currentDeployment(): Deployment | undefined {
    return this.deployment;
  }

  trigger(): void {
    if (this.closed) return;
    this.pending = true;
    if (this.queued) return;
    this.queued = true;
    void this.exclusive(async () => {
      this.queued = false;
      while (this.pending && !this.closed) {
        this.pending = false;
        try {
          await this.reconcileOnce();
        } catch (thrown) {
          // Never leave the loop dead: report, and try again after the backoff unit.
          const error = toOutpostError(thrown);
          this.options.logger.error({ event: 'agent.reconcile_failed', code: error.code, err: error.cause ?? error }, error.message);
          this.applied = { code: DeploymentStatusCode.Failed, description: error.message };
          this.schedule(Date.now() + this.options.restart.backoffBaseMs);
        }
      }
    });
  }

  /** Resolves when no reconcile is running or queued (tests, and the CLI's deploy answer). */
  async settled(): Promise<void> {
    while (this.queued || this.pending) await this.chain;
    await this.chain;
  }

  /** `outpost restart <id>`: stop and start now, with a clean restart count. */
  async restartModule(id: string): Promise<void> {
    await this.exclusive(async () => {
      const spec = this.deployment?.modules.find((m) => m.id === id);
      if (spec === undefined) throw new OutpostError('OUTPOST_AGENT_MODULE_NOT_FOUND', `no module ${id} in the deployment`, { details: { module: id } });
      if (spec.status !== 'running') throw new OutpostError('OUTPOST_AGENT_COMMAND_FAILED', `module ${id} has desired status ${spec.status}; change the deployment to run it`, { details: { module: id } });
      const restarts = new Map(this.state.restarts);
      restarts.delete(id);
      this.state.setRestarts(restarts);
      this.options.logger.info({ event: 'agent.module_restart_requested', module: id }, 'restarting module on request');
      // Run here rather than by the plan runner; the metrics count it as the stop and start it is.
      const stopAt = performance.now();
      await this.options.runtime.stopModule(id, this.options.stopTimeoutMs);
      this.options.observer?.commandDone({ kind: 'stop', id }, (performance.now() - stopAt) / 1000, true);
      const startAt = performance.now();
      await this.options.runtime.startModule(id);
      this.options.observer?.commandDone({ kind: 'start', id, spec }, (performance.now() - startAt) / 1000, true);
    });
    this.trigger();
  }

  get current(): ReportedProperties | undefined {
    return this.reported;
  }

  onReport(listener: ReportListener): void {
    this.listeners.push(listener);
  }

  /** Stops the loop; with stopModules, stops every module first. Reports status 406 last. */
  async close(stopModules: boolean): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.chain;
    let actual = this.lastActual;
    if (stopModules) {
      await Promise.all(actual.filter((a) => a.state === 'running').map((a) => this.options.runtime.stopModule(a.id, this.options.stopTimeoutMs).catch(() => undefined)));
      actual = await this.options.runtime.list().catch(() => actual);
    }
    this.report(actual, { code: DeploymentStatusCode.Unknown, description: 'Agent is not running' }, new Map(), true);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async reconcileOnce(): Promise<void> {
    const { runtime, logger, restart } = this.options;
    const nowMs = Date.now();
    let actual: ActualModule[];
    try {
      actual = await runtime.list();
    } catch (thrown) {
      const error = toOutpostError(thrown, 'OUTPOST_AGENT_RUNTIME_UNAVAILABLE');
      logger.error({ event: 'agent.runtime_unavailable', code: error.code, err: error.cause ?? error }, error.message);
      this.applied = { code: DeploymentStatusCode.Failed, description: error.message };
      this.report(this.lastActual, this.status(), new Map());
      this.schedule(nowMs + restart.backoffBaseMs);
      return;
    }
    const deployment = this.deployment;
    if (deployment === undefined) {
      this.report(actual, this.status(), new Map());
      this.schedule(undefined);
      return;
    }
    const planned = plan({ desired: deployment.modules, actual, restarts: this.state.restarts, nowMs, options: restart });
    this.state.setRestarts(planned.restarts);
    let retryAtMs: number | undefined;
    const errors = new Map<string, string>();
    let problem: string | undefined;
    if (planned.commands.length > 0) {
      logger.info({ event: 'agent.plan', commands: planned.commands.map(describeCommand) }, `running ${planned.commands.length} command(s)`);
      const result = await this.runner.run(planned.commands, deployment.registryCredentials, nowMs);
      retryAtMs = result.retryAtMs;
      for (const command of [...result.skipped, ...result.failed.map((f) => f.command)]) {
        const error = this.runner.lastError(command.id);
        if (error !== undefined) errors.set(command.id, error.message);
      }
      const first = result.failed[0] ?? (result.skipped.length > 0 ? { command: result.skipped[0]!, error: this.runner.lastError(result.skipped[0]!.id) } : undefined);
      if (first !== undefined) problem = `${describeCommand(first.command)}: ${first.error?.message ?? 'waiting for a module command to be retried'}`;
      actual = await runtime.list().catch(() => actual);
    }
    this.applied = problem === undefined ? { code: DeploymentStatusCode.Successful, description: '' } : { code: DeploymentStatusCode.Failed, description: problem };
    this.report(actual, this.status(), errors);
    this.schedule(min(planned.wakeAtMs, retryAtMs));
  }

  private status(): DeploymentStatus {
    if (this.rejected !== undefined) return this.rejected;
    return this.deployment === undefined ? NO_DEPLOYMENT : this.applied;
  }

  private schedule(atMs: number | undefined): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const due = min(atMs, Date.now() + this.options.reconcileIntervalMs)!;
    // +1 ms: a timer firing a hair early would find the backoff not yet elapsed.
    this.timer = setTimeout(() => this.trigger(), Math.max(0, due - Date.now()) + 1);
    this.timer.unref();
  }

  private report(actual: readonly ActualModule[], status: DeploymentStatus, commandErrors: ReadonlyMap<string, string>, stopping = false): void {
    this.lastActual = actual;
    const next = buildReportedProperties({
      version: this.options.version,
      runtime: this.options.runtime.kind,
      lastDesiredVersion: this.desiredVersion,
      lastDesiredStatus: status,
      deployment: this.deployment,
      actual,
      restarts: this.state.restarts,
      commandErrors,
      agentStartedAtMs: this.startedAtMs,
      nowMs: Date.now(),
      options: this.options.restart,
      stopping,
    });
    const patch = reportedPatch(this.reported ?? {}, next);
    this.reported = next;
    if (Object.keys(patch).length === 0) return;
    writeFileSync(`${this.reportFile}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
    renameSync(`${this.reportFile}.tmp`, this.reportFile);
    for (const listener of this.listeners) listener(next, patch);
  }
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
