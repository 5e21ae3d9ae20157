// The machine-readable result of a bench run (bench/results/<timestamp>.json), as one TypeBox
// schema: the TypeScript types, the JSON Schema and the validation used by the test and by the
// chart and gate scripts that read a results file back.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const RESULT_SCHEMA_VERSION = 1;

const Num = Type.Number();
const NullableNum = Type.Union([Type.Number(), Type.Null()]);

export const LatencySummary = Type.Object({
  count: Num,
  p50Micros: Num,
  p99Micros: Num,
  maxMicros: Num,
  meanMicros: Num,
});

export const BrokerFigures = Type.Object({
  pid: Num,
  /** VmHWM at the end of the scenario: the broker started fresh for it. */
  peakRssBytes: Num,
  /** CPU seconds in the measured window. */
  cpuSec: Num,
  /** CPU seconds over the broker's whole life in this scenario (start-up and teardown too). */
  cpuSecTotal: Num,
  /** cpuSec / window seconds: 1.0 is one core busy. */
  utilization: Num,
});

export const LoadgenFigures = Type.Object({
  processes: Num,
  /** CPU seconds of all load generator processes in the measured window. */
  cpuSec: Num,
  /** Busiest single process, cpuSec / window seconds: near 1.0 means it may be the bottleneck. */
  maxProcessUtilization: Num,
});

/** One implementation measured by a micro-benchmark (scenarios whose target is 'local'). */
export const MicroVariant = Type.Object({
  name: Type.String(),
  what: Type.String(),
  /** Unit of work: packets, matches, messages, … (value is units per second). */
  unit: Type.String(),
  /** Median over the trials of units per second. */
  value: Num,
  /** Slowest and fastest trial, units per second. */
  min: Num,
  max: Num,
  nsPerUnit: Num,
  /** value ÷ the scenario's baseline variant's value, measured interleaved in the same run. */
  relative: NullableNum,
});

export const ScenarioResult = Type.Object({
  scenario: Type.String(),
  target: Type.String(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable'), Type.Literal('error')]),
  error: Type.Optional(Type.String()),
  targetVersion: Type.Union([Type.String(), Type.Null()]),
  params: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
  /** Wall seconds of the measured window. */
  windowSec: Num,
  /** The headline figure and its unit (msg/s or conn/s). */
  throughput: Type.Object({ value: Num, unit: Type.String(), what: Type.String() }),
  /** Further figures by name (msg/s, bytes, ratios); null when not applicable. */
  metrics: Type.Record(Type.String(), NullableNum),
  latency: Type.Union([LatencySummary, Type.Null()]),
  broker: Type.Union([BrokerFigures, Type.Null()]),
  loadgen: LoadgenFigures,
  /** CPU microseconds per message (or per connection) in the window. */
  cpuMicrosPerUnit: Type.Object({ broker: NullableNum, loadgen: NullableNum }),
  warnings: Type.Array(Type.String()),
  /** Micro-benchmarks: each implementation's figures (the headline is one of them). */
  variants: Type.Optional(Type.Array(MicroVariant)),
});

export const ResultFile = Type.Object({
  schemaVersion: Type.Literal(RESULT_SCHEMA_VERSION),
  startedAt: Type.String(),
  finishedAt: Type.String(),
  machine: Type.Object({
    cpus: Num,
    cpuModel: Type.String(),
    totalMemoryBytes: Num,
    node: Type.String(),
    os: Type.String(),
  }),
  options: Type.Object({ quick: Type.Boolean(), loadgen: Type.Union([Type.Literal('c'), Type.Literal('node')]), seed: Num, scenarios: Type.Array(Type.String()), targets: Type.Array(Type.String()) }),
  results: Type.Array(ScenarioResult),
});

export type LatencySummary = Static<typeof LatencySummary>;
export type ScenarioResult = Static<typeof ScenarioResult>;
export type MicroVariant = Static<typeof MicroVariant>;
export type ResultFile = Static<typeof ResultFile>;

/** Problems with `value` as a results file, empty when it is valid. */
export function validateResultFile(value: unknown): string[] {
  return [...Value.Errors(ResultFile, value)].map((e) => `${e.path || '/'}: ${e.message}`);
}
