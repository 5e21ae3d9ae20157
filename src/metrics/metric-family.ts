/**
 * One metric family: a name, a type, label names and the series (one per label set) under it.
 *
 * Hot-path contract: a series is resolved once (`series(...)`, which builds a key string and may
 * allocate) and then kept by the caller, who updates it in place — `counter.value += 1`,
 * `histogram.observe(x)` — with no allocation and no lookup. Callers that meet a new label set per
 * message resolve through a cache of their own (LabelCache) rather than through `series`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A counter's or gauge's one number, updated in place. */
export interface ValueSeries {
  value: number;
}

/**
 * Fixed-bucket histogram: `counts[i]` are observations ≤ `bounds[i]` and above the previous bound
 * (non-cumulative; exposition sums them), the last slot is +Inf.
 */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    // Linear: about a dozen bounds, and most observations land in the first few.
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Label names set per series (in this order). */
  readonly labelNames: readonly string[];
  /** Labels with one value for the whole family (Azure's `ms_telemetry`). */
  readonly fixedLabels?: Readonly<Record<string, string>>;
  /** Histogram upper bounds, ascending. */
  readonly buckets?: readonly number[];
  /** Where the figure comes from and what differs from Azure: docs/metrics.md only. */
  readonly note?: string;
}

export interface SeriesEntry<S> {
  readonly labelValues: readonly string[];
  readonly series: S;
}

/**
 * Series past this many in one family share one overflow series whose labels all read `other`:
 * label values such as a client id come from clients, and a scrape must stay bounded.
 */
export const MAX_SERIES_PER_FAMILY = 2000;
export const OVERFLOW_LABEL_VALUE = 'other';

export class MetricFamily<S extends ValueSeries | HistogramSeries = ValueSeries | HistogramSeries> {
  private readonly byKey = new Map<string, SeriesEntry<S>>();
  private readonly bounds: Float64Array | undefined;
  private overflow: SeriesEntry<S> | undefined;

  constructor(readonly definition: MetricDefinition) {
    if (definition.type === 'histogram') {
      const buckets = definition.buckets ?? [];
      for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${definition.name}: histogram buckets must ascend`);
      this.bounds = Float64Array.from(buckets);
    }
  }

  get name(): string {
    return this.definition.name;
  }

  /** The series of a label set, made on first use (values in `labelNames` order). */
  series(...labelValues: string[]): S {
    if (labelValues.length !== this.definition.labelNames.length) {
      throw new Error(`${this.definition.name}: ${this.definition.labelNames.length} label values expected, got ${labelValues.length}`);
    }
    const key = labelValues.join('\u0000');
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      if (this.byKey.size >= MAX_SERIES_PER_FAMILY) return this.overflowSeries();
      entry = { labelValues, series: this.newSeries() };
      this.byKey.set(key, entry);
    }
    return entry.series;
  }

  /** Drops every series (a gauge refilled at each scrape). */
  reset(): void {
    this.byKey.clear();
    this.overflow = undefined;
  }

  entries(): SeriesEntry<S>[] {
    const list = [...this.byKey.values()];
    if (this.overflow !== undefined) list.push(this.overflow);
    return list;
  }

  private overflowSeries(): S {
    this.overflow ??= { labelValues: this.definition.labelNames.map(() => OVERFLOW_LABEL_VALUE), series: this.newSeries() };
    return this.overflow.series;
  }

  private newSeries(): S {
    return (this.bounds === undefined ? { value: 0 } : new HistogramSeries(this.bounds)) as S;
  }
}

export type Counter = MetricFamily<ValueSeries>;
export type Gauge = MetricFamily<ValueSeries>;
export type Histogram = MetricFamily<HistogramSeries>;
