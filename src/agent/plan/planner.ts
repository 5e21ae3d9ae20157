import type { ModuleSpec } from '../manifest/index.js';
import { NO_RESTARTS, type ActualModule, type RestartRecord } from './actual-module.js';
import type { Command } from './commands.js';
import { effectiveRestartCount, restartDecision } from './restart-decision.js';
import type { RestartOptions } from './restart-options.js';

export interface PlanInput {
  /** Desired user modules (a validated deployment). */
  readonly desired: readonly ModuleSpec[];
  /** What the runtime runs for us. */
  readonly actual: readonly ActualModule[];
  readonly restarts: ReadonlyMap<string, RestartRecord>;
  readonly nowMs: number;
  readonly options: RestartOptions;
}

export interface Plan {
  readonly commands: readonly Command[];
  /** Restart bookkeeping after the plan runs (restarts counted, counts reset, removed modules dropped). */
  readonly restarts: ReadonlyMap<string, RestartRecord>;
  /** Earliest time a waiting restart falls due: reconcile again then. */
  readonly wakeAtMs: number | undefined;
}

/**
 * The planner: desired and actual state to commands, a pure function (no I/O, no clock).
 *
 * Order, as Azure's HealthRestartPlanner: modules no longer desired are stopped and removed
 * first; then modules in ascending startupOrder (ties by id), each group's commands before the
 * next group's, so a group is attempted before the next one starts.
 */
export function plan(input: PlanInput): Plan {
  const { nowMs, options } = input;
  const actualById = new Map(input.actual.map((a) => [a.id, a]));
  const desiredIds = new Set(input.desired.map((d) => d.id));
  const restarts = new Map<string, RestartRecord>();
  const commands: Command[] = [];
  let wakeAtMs: number | undefined;

  for (const actual of [...input.actual].sort((a, b) => compare(a.id, b.id))) {
    if (desiredIds.has(actual.id)) continue;
    if (actual.state === 'running') commands.push({ kind: 'stop', id: actual.id });
    commands.push({ kind: 'remove', id: actual.id });
  }

  const ordered = [...input.desired].sort((a, b) => a.startupOrder - b.startupOrder || compare(a.id, b.id));
  for (const spec of ordered) {
    const actual = actualById.get(spec.id);
    const record = input.restarts.get(spec.id) ?? NO_RESTARTS;
    if (actual === undefined || actual.configHash !== spec.configHash) {
      // New or changed module: a fresh start with a clean restart count.
      commands.push(actual === undefined ? { kind: 'create', id: spec.id, spec } : { kind: 'update', id: spec.id, spec });
      if (spec.status === 'running') commands.push({ kind: 'start', id: spec.id, spec });
      continue;
    }
    if (spec.status === 'stopped') {
      if (actual.state === 'running') commands.push({ kind: 'stop', id: spec.id });
      continue; // desired stopped: the restart count is dropped
    }
    if (actual.state === 'created') {
      // Never started: every policy starts it once (Azure: "never started" in the planner).
      commands.push({ kind: 'start', id: spec.id, spec });
      continue;
    }
    const decision = restartDecision(spec, actual, record, nowMs, options);
    switch (decision.kind) {
      case 'restart':
        commands.push({ kind: 'restart', id: spec.id, spec, restartCount: decision.restartCount + 1, reason: decision.reason });
        restarts.set(spec.id, { restartCount: decision.restartCount + 1, lastRestartAtMs: nowMs });
        break;
      case 'wait':
        wakeAtMs = wakeAtMs === undefined ? decision.atMs : Math.min(wakeAtMs, decision.atMs);
        keep(restarts, spec.id, { ...record, restartCount: decision.restartCount });
        break;
      case 'gave-up':
        keep(restarts, spec.id, record);
        break;
      case 'none': {
        const count = effectiveRestartCount(actual, record, nowMs, options);
        keep(restarts, spec.id, count === record.restartCount ? record : { ...record, restartCount: count });
        // A module that keeps running gets its count reset at healthyResetMs: wake up for it.
        if (count > 0 && actual.state === 'running' && actual.startedAtMs !== undefined) {
          const resetAt = actual.startedAtMs + options.healthyResetMs;
          wakeAtMs = wakeAtMs === undefined ? resetAt : Math.min(wakeAtMs, resetAt);
        }
      }
    }
  }
  return { commands, restarts, wakeAtMs };
}

function keep(restarts: Map<string, RestartRecord>, id: string, record: RestartRecord): void {
  if (record.restartCount > 0 || record.lastRestartAtMs !== undefined) restarts.set(id, record);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
