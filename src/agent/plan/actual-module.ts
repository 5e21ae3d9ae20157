/**
 * What a module runtime reports about one module it runs for us: the planner's view of the
 * actual state. Runtimes (process, docker) produce these; the planner only reads them.
 */
export type ActualState = 'created' | 'running' | 'exited' | 'dead';
export type HealthState = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ActualModule {
  readonly id: string;
  /** ModuleSpec.configHash of the spec it was created from (a label or the state file). */
  readonly configHash: string;
  readonly state: ActualState;
  /** Exit code of the last run that ended (kept while a later run is running, for the report). */
  readonly exitCode: number | undefined;
  readonly startedAtMs: number | undefined;
  readonly finishedAtMs: number | undefined;
  readonly health: HealthState;
  /** Runtime detail for the operator (container id, pid, image id). */
  readonly detail?: string;
}

/** Restart bookkeeping per module, kept across agent restarts (<dataDir>/agent/module-state.json). */
export interface RestartRecord {
  readonly restartCount: number;
  readonly lastRestartAtMs: number | undefined;
}

export const NO_RESTARTS: RestartRecord = { restartCount: 0, lastRestartAtMs: undefined };
