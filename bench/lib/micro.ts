// How the micro-benchmarks measure: each variant (one implementation of the same work) runs
// whole passes over fixed-seed inputs for a trial of TRIAL_MS, the variants taking turns trial by
// trial (a slow phase of a shared machine then hits all of them), after a warm-up that lets V8
// optimise each. The figure is the median trial; min and max show the spread. A ratio between two
// variants of one run is what the gate may compare, never one absolute time.
import type { NativeMode } from '../../src/native/index.js';
import type { MicroVariant } from './result-schema.js';
import type { ScenarioOptions, ScenarioOutcome } from '../scenarios/scenario.js';

export interface VariantSpec {
  readonly name: string;
  readonly what: string;
  /** Unit of work counted by pass(): packets, topics, messages, … */
  readonly unit: string;
  /** Runs one pass over the inputs; returns the units of work done. */
  readonly pass: () => number | Promise<number>;
}

export interface MicroTiming {
  readonly trials: number;
  readonly trialMs: number;
  readonly warmupMs: number;
}

/** Default timing, shortened by --quick and overridden by --duration (total measured seconds per variant). */
export function microTiming(options: ScenarioOptions, normal: MicroTiming = { trials: 7, trialMs: 300, warmupMs: 300 }): MicroTiming {
  if (options.durationSec !== undefined) {
    const trialMs = Math.max(20, (options.durationSec * 1000) / normal.trials);
    return { trials: normal.trials, trialMs, warmupMs: options.warmupSec === undefined ? Math.min(normal.warmupMs, trialMs) : options.warmupSec * 1000 };
  }
  if (options.quick) return { trials: 3, trialMs: 60, warmupMs: 60 };
  return options.warmupSec === undefined ? normal : { ...normal, warmupMs: options.warmupSec * 1000 };
}

/** The addon mode for micro-benchmarks: OUTPOST_NATIVE as the hub would read it (default auto). */
export function benchNativeMode(): NativeMode {
  const mode = process.env['OUTPOST_NATIVE'];
  return mode === 'off' || mode === 'require' ? mode : 'auto';
}

/** A result nobody reads, so V8 cannot drop work whose result is unused. */
export let microSink = 0;
export function consume(value: number): void {
  microSink = (microSink + value) | 0;
}

async function runFor(pass: VariantSpec['pass'], ms: number): Promise<{ units: number; seconds: number }> {
  let units = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(ms * 1e6));
  let elapsed = 0n;
  do {
    const done = pass();
    units += typeof done === 'number' ? done : await done;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < limit);
  return { units, seconds: Number(elapsed) / 1e9 };
}

/** Measures every variant; `baseline` names the one the others are compared with. */
export async function measureVariants(variants: readonly VariantSpec[], timing: MicroTiming, baseline: string): Promise<MicroVariant[]> {
  for (const v of variants) await runFor(v.pass, timing.warmupMs);
  const rates = variants.map(() => [] as number[]);
  for (let trial = 0; trial < timing.trials; trial++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + trial) % variants.length;
      const { units, seconds } = await runFor(variants[i]!.pass, timing.trialMs);
      rates[i]!.push(units / seconds);
    }
  }
  const medians = rates.map((list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!);
  const baseIndex = variants.findIndex((v) => v.name === baseline);
  const base = baseIndex >= 0 ? medians[baseIndex]! : undefined;
  return variants.map((v, i) => ({
    name: v.name,
    what: v.what,
    unit: v.unit,
    value: medians[i]!,
    min: Math.min(...rates[i]!),
    max: Math.max(...rates[i]!),
    nsPerUnit: 1e9 / medians[i]!,
    relative: base === undefined ? null : medians[i]! / base,
  }));
}

/** value of `a` ÷ value of `b`, or null when either is missing. */
export function ratioOf(variants: readonly MicroVariant[], a: string, b: string): number | null {
  const x = variants.find((v) => v.name === a)?.value;
  const y = variants.find((v) => v.name === b)?.value;
  return x === undefined || y === undefined || y === 0 ? null : x / y;
}

export interface MicroOutcomeSpec {
  readonly params: ScenarioOutcome['params'];
  readonly variants: readonly MicroVariant[];
  /** The variant whose figure is the scenario's headline (the implementation the hub uses). */
  readonly headline: string;
  readonly timing: MicroTiming;
  /** Named ratios between variants, for the JSON and the gate: [metric name, numerator, denominator]. */
  readonly ratios?: readonly (readonly [string, string, string])[];
  readonly metrics?: ScenarioOutcome['metrics'];
  readonly warnings?: readonly string[];
}

/** A ScenarioOutcome for a micro-benchmark: no broker, no load generator, no latency. */
export function microOutcome(spec: MicroOutcomeSpec): ScenarioOutcome {
  const head = spec.variants.find((v) => v.name === spec.headline);
  if (head === undefined) throw new Error(`headline variant ${spec.headline} was not measured`);
  const metrics: ScenarioOutcome['metrics'] = { ...spec.metrics, rssBytes: process.memoryUsage().rss };
  for (const v of spec.variants) metrics[`${v.name}.perSec`] = v.value;
  for (const [name, a, b] of spec.ratios ?? []) metrics[name] = ratioOf(spec.variants, a, b);
  return {
    params: { ...spec.params, trials: spec.timing.trials, trialMs: spec.timing.trialMs, warmupMs: spec.timing.warmupMs },
    windowSec: (spec.timing.trials * spec.timing.trialMs * spec.variants.length) / 1000,
    throughput: { value: head.value, unit: `${head.unit}/s`, what: `${head.name}: ${head.what}` },
    metrics,
    latency: null,
    broker: null,
    loadgen: { processes: 0, cpuSec: 0, maxProcessUtilization: 0 },
    cpuMicrosPerUnit: { broker: null, loadgen: null },
    warnings: [...(spec.warnings ?? [])],
    variants: [...spec.variants],
  };
}
