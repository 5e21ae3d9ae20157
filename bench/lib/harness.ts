// Runs scenarios against targets: a fresh broker per (scenario, target), one result each, and a
// target that cannot be started or does not speak MQTT yet is recorded as "unavailable" rather
// than failing the whole run. A 'local' scenario (a micro-benchmark) needs no broker: it runs once
// per plan, in a process of its own, whatever the targets.
import { cpus, release, totalmem, type } from 'node:os';
import { LOCAL_TARGET, type Scenario, type ScenarioOptions } from '../scenarios/scenario.js';
import { runLocal } from './local-child.js';
import { sampleProc } from './proc-stats.js';
import { RESULT_SCHEMA_VERSION, type ResultFile, type ScenarioResult } from './result-schema.js';
import { startTarget, TargetUnavailable, type TargetOptions } from './targets.js';

export interface RunPlan {
  readonly scenarios: readonly Scenario[];
  readonly targets: readonly string[];
  readonly options: ScenarioOptions;
  readonly targetOptions: TargetOptions;
  /** Called after each result, for progress output. */
  readonly onResult?: (result: ScenarioResult) => void;
  /** Called when a scenario supports none of the plan's targets. */
  readonly onSkip?: (scenario: Scenario, why: string) => void;
}

/** Whether a broker scenario runs against `targetSpec` (BrokerScenario.targets). */
export function supportsTarget(scenario: Scenario, targetSpec: string): boolean {
  return scenario.kind === 'local' || scenario.targets === undefined || scenario.targets.includes(targetSpec);
}

function emptyResult(scenario: string, target: string, status: 'unavailable' | 'error', error: string): ScenarioResult {
  return {
    scenario,
    target,
    status,
    error,
    targetVersion: null,
    params: {},
    windowSec: 0,
    throughput: { value: 0, unit: '', what: '' },
    metrics: {},
    latency: null,
    broker: null,
    loadgen: { processes: 0, cpuSec: 0, maxProcessUtilization: 0 },
    cpuMicrosPerUnit: { broker: null, loadgen: null },
    warnings: [],
  };
}

/** One result: `scenario` against `targetSpec` (ignored for a local scenario, whose target is 'local'). */
export async function runOne(scenario: Scenario, targetSpec: string, options: ScenarioOptions, targetOptions: TargetOptions): Promise<ScenarioResult> {
  if (scenario.kind === 'local') {
    try {
      const outcome = await runLocal(scenario, options);
      return { scenario: scenario.name, target: LOCAL_TARGET, status: 'ok', targetVersion: process.version, ...outcome };
    } catch (error) {
      return emptyResult(scenario.name, LOCAL_TARGET, 'error', error instanceof Error ? error.message : String(error));
    }
  }
  if (!supportsTarget(scenario, targetSpec)) {
    return emptyResult(scenario.name, targetSpec, 'unavailable', `${scenario.name} runs only against ${(scenario.targets ?? []).join(', ')}`);
  }
  let target;
  const setup = scenario.outpostSetup?.bind(scenario);
  try {
    target = await startTarget(targetSpec, setup === undefined ? targetOptions : { ...targetOptions, outpostSetup: (dataDir) => setup(dataDir, options) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return emptyResult(scenario.name, targetSpec, error instanceof TargetUnavailable ? 'unavailable' : 'error', message);
  }
  // Idle RSS: the broker started and answering (startTarget's CONNECT probe), before any load.
  const idleRssBytes = target.pid === undefined ? null : (sampleProc(target.pid)?.rssBytes ?? null);
  try {
    const outcome = await scenario.run(target, options);
    return { scenario: scenario.name, target: targetSpec, status: 'ok', targetVersion: target.version, ...outcome, metrics: { ...outcome.metrics, idleRssBytes } };
  } catch (error) {
    const result = emptyResult(scenario.name, targetSpec, 'error', error instanceof Error ? error.message : String(error));
    return { ...result, targetVersion: target.version };
  } finally {
    await target.stop();
  }
}

export async function runPlan(plan: RunPlan): Promise<ResultFile> {
  const startedAt = new Date().toISOString();
  const results: ScenarioResult[] = [];
  for (const scenario of plan.scenarios) {
    const targets = scenario.kind === 'local' ? [LOCAL_TARGET] : plan.targets.filter((t) => supportsTarget(scenario, t));
    if (targets.length === 0) plan.onSkip?.(scenario, `runs only against ${scenario.kind === 'local' ? LOCAL_TARGET : (scenario.targets ?? []).join(', ')}`);
    for (const target of targets) {
      const result = await runOne(scenario, target, plan.options, plan.targetOptions);
      results.push(result);
      plan.onResult?.(result);
    }
  }
  const cpuList = cpus();
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      totalMemoryBytes: totalmem(),
      node: process.version,
      os: `${type()} ${release()}`,
    },
    options: {
      quick: plan.options.quick,
      loadgen: plan.options.loadgen,
      seed: plan.options.seed,
      scenarios: plan.scenarios.map((s) => s.name),
      targets: [...plan.targets],
    },
    results,
  };
}
