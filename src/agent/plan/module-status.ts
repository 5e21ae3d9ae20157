import type { ModuleSpec } from '../manifest/index.js';
import { NO_RESTARTS, type ActualModule, type RestartRecord } from './actual-module.js';
import { restartDecision } from './restart-decision.js';
import type { RestartOptions } from './restart-options.js';

/** Azure's runtimeStatus values (IModule.cs ModuleStatus). */
export type RuntimeStatus = 'unknown' | 'backoff' | 'running' | 'unhealthy' | 'stopped' | 'failed' | 'dead';

export interface ModuleStatus {
  readonly runtimeStatus: RuntimeStatus;
  readonly statusDescription: string;
}

/**
 * What to report for a module: Azure's mapping (exited 0 → stopped, non-zero → failed, waiting
 * for a restart → backoff) plus `unhealthy`, which Azure never produces because it never reads
 * container health.
 */
export function moduleStatus(spec: ModuleSpec | undefined, actual: ActualModule | undefined, record: RestartRecord | undefined, nowMs: number, options: RestartOptions): ModuleStatus {
  if (actual === undefined) return spec?.status === 'stopped' ? status('stopped', 'not created (desired status stopped)') : status('unknown', 'not created yet');
  switch (actual.state) {
    case 'created':
      return status('stopped', 'created, not started');
    case 'running':
      if (actual.health === 'unhealthy') {
        const next = spec === undefined ? undefined : restartDecision(spec, actual, record ?? NO_RESTARTS, nowMs, options);
        return status('unhealthy', `health check failing${next?.kind === 'wait' ? `; restart in ${seconds(next.atMs - nowMs)}` : ''}`);
      }
      return status('running', actual.health === 'starting' ? 'running (health check starting)' : 'running');
    case 'dead':
    case 'exited': {
      const exit = actual.state === 'dead' ? 'dead (the runtime cannot run it)' : `exited with code ${actual.exitCode ?? 'unknown'}`;
      const decision = spec === undefined ? undefined : restartDecision(spec, actual, record ?? NO_RESTARTS, nowMs, options);
      if (decision?.kind === 'wait') return status('backoff', `${exit}; restart ${decision.restartCount + 1} in ${seconds(decision.atMs - nowMs)}`);
      if (decision?.kind === 'restart') return status('backoff', `${exit}; restarting`);
      if (decision?.kind === 'gave-up') return status('failed', `${exit}; gave up after ${decision.restartCount} restarts (agent.maxRestartCount)`);
      if (spec?.status === 'stopped') return status('stopped', `${exit} (desired status stopped)`);
      if (actual.state === 'dead') return status('dead', exit);
      return status(actual.exitCode === 0 ? 'stopped' : 'failed', exit);
    }
  }
}

function status(runtimeStatus: RuntimeStatus, statusDescription: string): ModuleStatus {
  return { runtimeStatus, statusDescription };
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}
