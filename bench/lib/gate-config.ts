// bench/gate.json, the benchmark gate's committed settings: which commit is the baseline build,
// how many alternated pairs to run, the regression checks (candidate against the baseline build,
// tolerances from the A-against-A calibration in bench/gate-calibration.json) and the loose floors
// against the reference peer (a sanity check, and the whole gate only when there is no baseline).
// Kept pure (parse and check only) so the test can feed it values.

/** A figure of the candidate judged against the same figure of the baseline build, same run. */
export interface RegressionCheck {
  readonly scenario: string;
  /** 'throughput' (the headline), 'peakRssBytes', 'brokerCpuMicros' or a key of ScenarioResult.metrics (gate-figures.ts). */
  readonly metric: string;
  /** Which way is better: throughput is higher, memory lower. */
  readonly better: 'higher' | 'lower';
  /** Fraction: higher fails below baseline × (1 − tolerance), lower above baseline × (1 + tolerance) + slack. */
  readonly tolerance: number;
  /** Lower-is-better only: an absolute allowance in the metric's unit (bytes) on top of the fraction. */
  readonly slack?: number;
  readonly why: string;
}

/** Candidate ÷ reference peer measured in the same run, against a committed loose floor. */
export interface RatioFloor {
  readonly scenario: string;
  readonly metric: string;
  readonly kind: 'ratio';
  /** The gate fails below this ratio (no tolerance on top: the floor is already loose). */
  readonly floor: number;
  readonly why: string;
}

/** A figure of the candidate alone (a count, or Outpost against itself) against a fixed ceiling. */
export interface LimitFloor {
  readonly scenario: string;
  readonly metric: string;
  readonly kind: 'max';
  /** The gate fails above this value. */
  readonly ceiling: number;
  readonly why: string;
}

export type FloorCheck = RatioFloor | LimitFloor;

export interface GateConfig {
  /** The recorded baseline: the last landed commit whose gate passed (full hash), or null. */
  readonly baselineCommit: string | null;
  readonly reference: string;
  /** Alternated candidate/baseline pairs per scenario (each side runs this many times). */
  readonly pairs: number;
  /** More pairs run for a scenario whose regression check failed, judged again on all pairs. */
  readonly confirmPairs: number;
  readonly regression: readonly RegressionCheck[];
  readonly floors: readonly FloorCheck[];
}

function fraction(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && value < 1;
}

function positiveInt(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Parses and checks gate.json; throws naming the problem. */
export function parseGateConfig(value: unknown): GateConfig {
  const v = value as Partial<GateConfig> | null;
  if (v === null || typeof v !== 'object') throw new Error('gate.json: not an object');
  if (v.baselineCommit !== null && !(typeof v.baselineCommit === 'string' && /^[0-9a-f]{40}$/.test(v.baselineCommit))) {
    throw new Error('gate.json: baselineCommit must be a full 40-digit commit hash or null');
  }
  if (typeof v.reference !== 'string') throw new Error('gate.json: reference must be a target name');
  if (!positiveInt(v.pairs) || v.pairs === 0) throw new Error('gate.json: pairs must be a positive integer');
  if (!positiveInt(v.confirmPairs)) throw new Error('gate.json: confirmPairs must be a non-negative integer');
  if (!Array.isArray(v.regression) || !Array.isArray(v.floors)) throw new Error('gate.json: regression and floors must be arrays');
  v.regression.forEach((c: Partial<RegressionCheck>, i) => {
    if (typeof c.scenario !== 'string' || typeof c.metric !== 'string' || typeof c.why !== 'string') throw new Error(`gate.json: regression[${i}] needs scenario, metric and why`);
    if (c.better !== 'higher' && c.better !== 'lower') throw new Error(`gate.json: regression[${i}].better must be higher or lower`);
    if (!fraction(c.tolerance)) throw new Error(`gate.json: regression[${i}].tolerance must be a fraction in [0, 1)`);
    if (c.slack !== undefined && !(typeof c.slack === 'number' && c.slack >= 0 && c.better === 'lower')) throw new Error(`gate.json: regression[${i}].slack must be a non-negative number, on a lower-is-better check`);
  });
  v.floors.forEach((f: unknown, i) => {
    const c = f as { scenario?: unknown; metric?: unknown; why?: unknown; kind?: unknown; floor?: unknown; ceiling?: unknown };
    if (typeof c.scenario !== 'string' || typeof c.metric !== 'string' || typeof c.why !== 'string') throw new Error(`gate.json: floors[${i}] needs scenario, metric and why`);
    if (c.kind === 'ratio' && !(typeof c.floor === 'number' && c.floor > 0)) throw new Error(`gate.json: floors[${i}] (ratio) needs a positive floor`);
    else if (c.kind === 'max' && !(typeof c.ceiling === 'number' && c.ceiling > 0)) throw new Error(`gate.json: floors[${i}] (max) needs a positive ceiling`);
    else if (c.kind !== 'ratio' && c.kind !== 'max') throw new Error(`gate.json: floors[${i}].kind must be ratio or max`);
  });
  if (v.regression.length + v.floors.length === 0) throw new Error('gate.json: no checks');
  return v as GateConfig;
}

export interface ScenarioPlan {
  readonly scenario: string;
  /** Runs against the baseline build too (it has regression checks). */
  readonly ab: boolean;
  /** Runs against the reference peer (it has a ratio floor). */
  readonly reference: boolean;
}

/** Every scenario the checks name, in the order they first appear, and what each runs against. */
export function planScenarios(config: GateConfig): ScenarioPlan[] {
  const names = [...new Set([...config.regression.map((c) => c.scenario), ...config.floors.map((c) => c.scenario)])];
  return names.map((scenario) => ({
    scenario,
    ab: config.regression.some((c) => c.scenario === scenario),
    reference: config.floors.some((c) => c.scenario === scenario && c.kind === 'ratio'),
  }));
}
