/**
 * The persisted aggregate of runtime quality telemetry: per tagged series (already anonymized),
 * what it did during the current upload period. Counters and histograms keep the increase over
 * the period, summed across process restarts (each restart starts the registry's counters at 0
 * again, so the baseline of a new process is 0); gauges keep min, max, mean and last. The file
 * holds no raw label value, only what would be sent.
 */

export const AGGREGATE_FORMAT = 1;
/** Series kept; past it, new series of a family share one series whose labels read `other`. */
export const MAX_AGGREGATE_SERIES = 256;
const OVERFLOW = 'other';

export type Labels = Record<string, string>;

/** One anonymized figure read from the registry. */
export type Sample =
  | { readonly name: string; readonly type: 'counter' | 'gauge'; readonly labels: Labels; readonly value: number }
  | { readonly name: string; readonly type: 'histogram'; readonly labels: Labels; readonly bounds: readonly number[]; readonly counts: readonly number[]; readonly sum: number; readonly count: number };

export interface CounterState {
  name: string;
  type: 'counter';
  labels: Labels;
  /** Increase during the period. */
  total: number;
  /** The value last read from this process (the baseline of the next increase). */
  last: number;
}

export interface GaugeState {
  name: string;
  type: 'gauge';
  labels: Labels;
  min: number;
  max: number;
  sum: number;
  samples: number;
  last: number;
}

export interface HistogramState {
  name: string;
  type: 'histogram';
  labels: Labels;
  bounds: number[];
  /** Increases during the period: observations per bucket (not cumulative; last slot +Inf), sum, count. */
  counts: number[];
  sum: number;
  count: number;
  lastCounts: number[];
  lastSum: number;
  lastCount: number;
}

export type SeriesState = CounterState | GaugeState | HistogramState;

export interface AggregateState {
  format: typeof AGGREGATE_FORMAT;
  /** The process whose counters the baselines (`last…`) were read from. */
  instanceId: string;
  periodStartMs: number;
  lastScrapeMs: number | null;
  scrapes: number;
  /** Process starts during the period (1 for a period without restart). */
  processStarts: number;
  series: Record<string, SeriesState>;
}

export function freshAggregate(instanceId: string, nowMs: number): AggregateState {
  return { format: AGGREGATE_FORMAT, instanceId, periodStartMs: nowMs, lastScrapeMs: null, scrapes: 0, processStarts: 1, series: {} };
}

function keyOf(name: string, labels: Labels): string {
  return JSON.stringify([name, ...Object.keys(labels).sort().map((k) => [k, labels[k]])]);
}

/** A new process reads the aggregate: its counters start at 0, so every baseline does too. */
export function adoptInstance(state: AggregateState, instanceId: string): void {
  if (state.instanceId === instanceId) return;
  state.instanceId = instanceId;
  state.processStarts += 1;
  for (const [key, series] of Object.entries(state.series)) {
    // A series with nothing in this period and an obsolete baseline carries no information: dropped,
    // which keeps a long-lived aggregate from filling up with series of modules long gone.
    if (!hasData(series)) {
      delete state.series[key];
      continue;
    }
    if (series.type === 'counter') series.last = 0;
    else if (series.type === 'histogram') {
      series.lastCounts = series.lastCounts.map(() => 0);
      series.lastSum = 0;
      series.lastCount = 0;
    }
  }
}

/** Adds one scrape (samples of the current process) to the aggregate. */
export function recordScrape(state: AggregateState, samples: readonly Sample[], nowMs: number): void {
  // Two series that anonymize alike (or overflow together) are summed before the increase is taken.
  const grouped = new Map<string, Sample>();
  for (const sample of samples) {
    let key = keyOf(sample.name, sample.labels);
    let target = sample;
    if (state.series[key] === undefined && !grouped.has(key) && Object.keys(state.series).length + grouped.size >= MAX_AGGREGATE_SERIES) {
      const labels = Object.fromEntries(Object.keys(sample.labels).map((k) => [k, OVERFLOW]));
      key = keyOf(sample.name, labels);
      target = { ...sample, labels };
    }
    const seen = grouped.get(key);
    grouped.set(key, seen === undefined ? target : merge(seen, target));
  }
  for (const [key, sample] of grouped) {
    const series = state.series[key];
    if (sample.type === 'histogram') {
      const current = series?.type === 'histogram' && sameBounds(series.bounds, sample.bounds) ? series : undefined;
      state.series[key] = addHistogram(current, sample);
    } else if (sample.type === 'counter') {
      const current = series?.type === 'counter' ? series : { name: sample.name, type: 'counter' as const, labels: sample.labels, total: 0, last: 0 };
      // Below the baseline: the family was reset (or overflow regrouped); the value is all new.
      current.total += sample.value >= current.last ? sample.value - current.last : sample.value;
      current.last = sample.value;
      state.series[key] = current;
    } else {
      const current = series?.type === 'gauge' ? series : { name: sample.name, type: 'gauge' as const, labels: sample.labels, min: sample.value, max: sample.value, sum: 0, samples: 0, last: sample.value };
      current.min = Math.min(current.min, sample.value);
      current.max = Math.max(current.max, sample.value);
      current.sum += sample.value;
      current.samples += 1;
      current.last = sample.value;
      state.series[key] = current;
    }
  }
  state.scrapes += 1;
  state.lastScrapeMs = nowMs;
}

function merge(a: Sample, b: Sample): Sample {
  if (a.type === 'histogram' && b.type === 'histogram' && sameBounds(a.bounds, b.bounds)) {
    return { ...a, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum, count: a.count + b.count };
  }
  if (a.type !== 'histogram' && b.type !== 'histogram') return { ...a, value: a.value + b.value };
  return a;
}

function addHistogram(series: HistogramState | undefined, sample: Extract<Sample, { type: 'histogram' }>): HistogramState {
  const zero = () => sample.counts.map(() => 0);
  const current = series ?? { name: sample.name, type: 'histogram', labels: sample.labels, bounds: [...sample.bounds], counts: zero(), sum: 0, count: 0, lastCounts: zero(), lastSum: 0, lastCount: 0 };
  const reset = sample.count < current.lastCount;
  for (let i = 0; i < current.counts.length; i++) {
    const value = sample.counts[i] ?? 0;
    current.counts[i]! += reset ? value : value - (current.lastCounts[i] ?? 0);
  }
  current.sum += reset ? sample.sum : sample.sum - current.lastSum;
  current.count += reset ? sample.count : sample.count - current.lastCount;
  current.lastCounts = [...sample.counts];
  current.lastSum = sample.sum;
  current.lastCount = sample.count;
  return current;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** True when the series changed during the period (what is worth sending). */
export function hasData(series: SeriesState): boolean {
  if (series.type === 'counter') return series.total > 0;
  if (series.type === 'histogram') return series.count > 0;
  return series.samples > 0;
}

/** A new period after a send: increases start from 0, baselines stay (the process goes on). */
export function startPeriod(state: AggregateState, nowMs: number): void {
  state.periodStartMs = nowMs;
  state.scrapes = 0;
  state.processStarts = 1;
  for (const series of Object.values(state.series)) {
    if (series.type === 'counter') series.total = 0;
    else if (series.type === 'histogram') {
      series.counts = series.counts.map(() => 0);
      series.sum = 0;
      series.count = 0;
    } else {
      series.min = series.last;
      series.max = series.last;
      series.sum = 0;
      series.samples = 0;
    }
  }
}
