import { OutpostError, toOutpostError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { RegistryCredential } from '../manifest/index.js';
import { coolOffMs, describeCommand, type Command, type RestartOptions } from '../plan/index.js';
import type { ModuleEnvironmentProvider } from '../runtime/module-environment.js';
import type { ModuleRuntime } from '../runtime/module-runtime.js';

export interface PlanRunnerOptions {
  readonly runtime: ModuleRuntime;
  readonly environment: ModuleEnvironmentProvider;
  readonly stopTimeoutMs: number;
  /** Backoff for failed commands: the restart backoff's base and cap. */
  readonly restart: RestartOptions;
  readonly logger: Logger;
  /** Metrics of commands (src/metrics). */
  readonly observer?: CommandObserver;
}

/** Told of every command run: how long it took and whether it succeeded. */
export interface CommandObserver {
  commandDone(command: Command, seconds: number, ok: boolean): void;
}

export interface RunResult {
  /** Commands that failed this time, with their error. */
  readonly failed: readonly { readonly command: Command; readonly error: OutpostError }[];
  /** Commands not run: their module's earlier command failed, or it is still in its retry backoff. */
  readonly skipped: readonly Command[];
  /** When the earliest skipped command may be retried. */
  readonly retryAtMs: number | undefined;
}

interface Failure {
  runCount: number;
  lastAtMs: number;
  error: OutpostError;
}

/**
 * Executes a plan on the module runtime, in order, one command at a time (Azure's ordered plan
 * runner). A command that fails is retried on later reconciles with backoff (base × 2^failures,
 * capped), and the module's remaining commands in this plan are skipped; other modules go on.
 * Failure counts are forgotten when the deployment changes.
 */
export class PlanRunner {
  private readonly failures = new Map<string, Failure>();

  constructor(private readonly options: PlanRunnerOptions) {}

  resetFailures(): void {
    this.failures.clear();
  }

  /** The last error of a module's failing command, for its status description. */
  lastError(id: string): OutpostError | undefined {
    let latest: Failure | undefined;
    for (const [key, failure] of this.failures) if (key.endsWith(`\u0000${id}`) && (latest === undefined || failure.lastAtMs > latest.lastAtMs)) latest = failure;
    return latest?.error;
  }

  async run(commands: readonly Command[], registryCredentials: readonly RegistryCredential[], nowMs: number): Promise<RunResult> {
    const failed: { command: Command; error: OutpostError }[] = [];
    const skipped: Command[] = [];
    const blocked = new Set<string>();
    let retryAtMs: number | undefined;
    for (const command of commands) {
      const key = keyOf(command);
      const previous = this.failures.get(key);
      const dueAtMs = previous === undefined ? nowMs : previous.lastAtMs + coolOffMs(previous.runCount - 1, this.options.restart);
      if (blocked.has(command.id) || dueAtMs > nowMs) {
        skipped.push(command);
        blocked.add(command.id);
        if (dueAtMs > nowMs) retryAtMs = retryAtMs === undefined ? dueAtMs : Math.min(retryAtMs, dueAtMs);
        continue;
      }
      const startedAt = performance.now();
      try {
        await this.execute(command, registryCredentials);
        this.options.observer?.commandDone(command, (performance.now() - startedAt) / 1000, true);
        this.failures.delete(key);
        this.options.logger.debug({ event: 'agent.command_done', command: command.kind, module: command.id }, describeCommand(command));
      } catch (thrown) {
        const error = toOutpostError(thrown, 'OUTPOST_AGENT_COMMAND_FAILED');
        this.options.observer?.commandDone(command, (performance.now() - startedAt) / 1000, false);
        const runCount = (previous?.runCount ?? 0) + 1;
        this.failures.set(key, { runCount, lastAtMs: Date.now(), error });
        failed.push({ command, error });
        blocked.add(command.id);
        const nextAt = Date.now() + coolOffMs(runCount - 1, this.options.restart);
        retryAtMs = retryAtMs === undefined ? nextAt : Math.min(retryAtMs, nextAt);
        this.options.logger.error(
          { event: 'agent.command_failed', command: command.kind, module: command.id, code: error.code, details: error.details, attempt: runCount, err: error.cause ?? error },
          `${describeCommand(command)} failed: ${error.message}`,
        );
      }
    }
    return { failed, skipped, retryAtMs };
  }

  private async execute(command: Command, registryCredentials: readonly RegistryCredential[]): Promise<void> {
    const { runtime, stopTimeoutMs } = this.options;
    switch (command.kind) {
      case 'create':
      case 'update': {
        if (command.kind === 'update') {
          await runtime.stopModule(command.id, stopTimeoutMs);
          await runtime.removeModule(command.id);
        }
        // Identity variables come last: a module cannot pose as another one through its env.
        const env = { ...command.spec.env, ...(await this.options.environment.environmentFor(command.id)) };
        await runtime.create({ spec: command.spec, env, registryCredentials });
        return;
      }
      case 'start':
        return runtime.startModule(command.id);
      case 'stop':
        return runtime.stopModule(command.id, stopTimeoutMs);
      case 'remove':
        return runtime.removeModule(command.id);
      case 'restart':
        await runtime.stopModule(command.id, stopTimeoutMs);
        return runtime.startModule(command.id);
    }
  }
}

function keyOf(command: Command): string {
  const hash = 'spec' in command ? command.spec.configHash : '';
  return `${command.kind}\u0000${hash}\u0000${command.id}`;
}
