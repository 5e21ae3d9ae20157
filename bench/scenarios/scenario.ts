// What a scenario is: a name, what it measures, and a run against one started target (a broker
// scenario), or a run in a process of its own with no broker at all (a 'local' micro-benchmark).
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

/** Runs against each target of the plan (a broker started fresh for it, or host:port). */
export interface BrokerScenario {
  readonly kind?: 'broker';
  readonly name: string;
  readonly description: string;
  /**
   * The named targets it can run against (default: all, and host:port); the harness skips the
   * others with a note. A scenario of Outpost's own features (routing, the store) names only it.
   */
  readonly targets?: readonly string[];
  /**
   * Prepares a fresh Outpost hub's data directory before the hub starts (identities, a
   * deployment) and returns more `outpost hub` arguments. Not called for other targets.
   */
  outpostSetup?(dataDir: string, options: ScenarioOptions): readonly string[];
  run(target: RunningTarget, options: ScenarioOptions): Promise<ScenarioOutcome>;
}

/**
 * Needs no broker: runs once per plan, whatever the targets, in a fresh Node process of its own
 * (bench/lib/local-child.ts) so no other scenario's JIT state or heap colours its figures. Its
 * result's target is 'local'.
 */
export interface LocalScenario {
  readonly kind: 'local';
  readonly name: string;
  readonly description: string;
  run(options: ScenarioOptions): Promise<ScenarioOutcome>;
}

export type Scenario = BrokerScenario | LocalScenario;

export const LOCAL_TARGET = 'local';
