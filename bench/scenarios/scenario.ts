// What a scenario is: a name, what it measures, and a run against one started target.
import type { RunningTarget } from '../lib/targets.js';
import type { ScenarioResult } from '../lib/result-schema.js';
import type { LoadgenKind } from '../lib/children.js';

export interface ScenarioOptions {
  /** Which load generator drives the scenario: the C one (default) or the Node one. */
  readonly loadgen: LoadgenKind;
  /** Shorter warm-up, window and counts, for smoke runs and tests. */
  readonly quick: boolean;
  readonly seed: number;
  /** Overrides the scenario's measured window, in seconds. */
  readonly durationSec?: number;
  /** Overrides the scenario's warm-up, in seconds. */
  readonly warmupSec?: number;
  /** Overrides the scenario's client count (subscribers for fan-out, clients for the storm). */
  readonly clients?: number;
  /** QoS 1 fan-in: free window slots a publisher waits for before writing (default 1). */
  readonly qos1RefillMin?: number;
}

/** What a scenario fills in; the harness adds scenario, target, status and version. */
export type ScenarioOutcome = Omit<ScenarioResult, 'scenario' | 'target' | 'status' | 'error' | 'targetVersion'>;

export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(target: RunningTarget, options: ScenarioOptions): Promise<ScenarioOutcome>;
}
