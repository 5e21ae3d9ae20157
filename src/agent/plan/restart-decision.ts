import { RESTART_POLICIES, type ModuleSpec, type RestartPolicy } from '../manifest/index.js';
import type { ActualModule, RestartRecord } from './actual-module.js';
import type { RestartReason } from './commands.js';
import { coolOffMs, type RestartOptions } from './restart-options.js';

/**
 * Whether the restart policy brings a module back, and when. Pure; shared by the planner (what
 * to do) and the status report (what to say).
 *
 * Policies are ordered as in Azure (never < on-failure < on-unhealthy < always), each covering
 * the cases of the ones before it:
 *   never        — never restarted after it was started once
 *   on-failure   — restarted after a non-zero exit (or when the runtime reports it dead)
 *   on-unhealthy — also restarted while running but unhealthy (health check / liveness probe)
 *   always       — also restarted after a clean exit (code 0)
 * The backoff is min(base × 2^restarts, max) from the exit (or, for an unhealthy module, from its
 * last start); the count starts again at 0 once a run lasted healthyResetMs.
 */
export type RestartDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'wait'; readonly atMs: number; readonly restartCount: number }
  | { readonly kind: 'restart'; readonly restartCount: number; readonly reason: RestartReason }
  | { readonly kind: 'gave-up'; readonly restartCount: number };

export function policyCovers(policy: RestartPolicy, cause: 'failure' | 'unhealthy' | 'clean-exit'): boolean {
  const rank = RESTART_POLICIES.indexOf(policy);
  const needed = cause === 'failure' ? 1 : cause === 'unhealthy' ? 2 : 3;
  return rank >= needed;
}

/** The restart count that applies to this run: a run that lasted healthyResetMs wipes the slate. */
export function effectiveRestartCount(actual: ActualModule, record: RestartRecord, nowMs: number, options: RestartOptions): number {
  if (record.restartCount === 0 || actual.startedAtMs === undefined) return record.restartCount;
  const endMs = actual.state === 'running' ? nowMs : (actual.finishedAtMs ?? nowMs);
  return endMs - actual.startedAtMs >= options.healthyResetMs && actual.health !== 'unhealthy' ? 0 : record.restartCount;
}

export function restartDecision(spec: ModuleSpec, actual: ActualModule, record: RestartRecord, nowMs: number, options: RestartOptions): RestartDecision {
  if (spec.status !== 'running') return { kind: 'none' };
  let since: number;
  let reason: RestartReason;
  if (actual.state === 'exited' || actual.state === 'dead') {
    const cause = actual.state === 'dead' || actual.exitCode !== 0 ? 'failure' : 'clean-exit';
    if (!policyCovers(spec.restartPolicy, cause)) return { kind: 'none' };
    since = actual.finishedAtMs ?? nowMs;
    reason = cause === 'failure' ? 'failed' : 'exited';
  } else if (actual.state === 'running' && actual.health === 'unhealthy') {
    if (!policyCovers(spec.restartPolicy, 'unhealthy')) return { kind: 'none' };
    since = actual.startedAtMs ?? nowMs;
    reason = 'unhealthy';
  } else return { kind: 'none' };
  const restartCount = effectiveRestartCount(actual, record, nowMs, options);
  if (options.maxRestartCount > 0 && restartCount >= options.maxRestartCount) return { kind: 'gave-up', restartCount };
  const atMs = since + coolOffMs(restartCount, options);
  // A clock that went backwards (since in the future) must not hold a module down: restart now.
  if (nowMs >= atMs || nowMs < since) return { kind: 'restart', restartCount, reason };
  return { kind: 'wait', atMs, restartCount };
}
