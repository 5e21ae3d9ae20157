// Latency histogram with log-linear buckets (the HdrHistogram idea, cut down): every power of two
// of microseconds is split into SUB_BUCKETS linear buckets, so a recorded value is off by at most
// 1/SUB_BUCKETS (about 1.6 %) and recording is a few integer operations with no allocation.
// Histograms from several load generator processes merge by adding counts, which keeps
// percentiles exact over the union instead of averaging per-process percentiles.

const SUB_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BITS;
/** Values up to 2^36 µs (about 19 hours) are kept; larger ones land in the last bucket. */
const MAX_EXPONENT = 36;
const BUCKETS = (MAX_EXPONENT - SUB_BITS + 2) * SUB_BUCKETS;

export interface HistogramSnapshot {
  /** Sparse [bucketIndex, count] pairs. */
  readonly buckets: Array<[number, number]>;
  readonly count: number;
  readonly sumMicros: number;
  readonly maxMicros: number;
}

/** Index of the bucket holding `micros` (non-negative integer). */
export function bucketOf(micros: number): number {
  const v = micros < 0 ? 0 : Math.floor(micros);
  if (v < SUB_BUCKETS) return v;
  const e = v <= 0xffffffff ? 31 - Math.clz32(v) : Math.floor(Math.log2(v));
  const shift = e - SUB_BITS;
  const index = (shift + 1) * SUB_BUCKETS + (Math.floor(v / 2 ** shift) - SUB_BUCKETS);
  return index < BUCKETS ? index : BUCKETS - 1;
}

/** Lowest value that maps to bucket `index`. */
export function bucketLow(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  return (SUB_BUCKETS + (index % SUB_BUCKETS)) * 2 ** shift;
}

/** Highest value that maps to bucket `index`. */
export function bucketHigh(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  return bucketLow(index) + 2 ** shift - 1;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sumMicros = 0;
  maxMicros = 0;

  record(micros: number): void {
    this.counts[bucketOf(micros)]! += 1;
    this.count += 1;
    this.sumMicros += micros;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  /** Records `n` samples of one value (a whole chunk that arrived with the same timestamp). */
  recordMany(micros: number, n: number): void {
    this.counts[bucketOf(micros)]! += n;
    this.count += n;
    this.sumMicros += micros * n;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMicros = 0;
    this.maxMicros = 0;
  }

  merge(other: Histogram | HistogramSnapshot): void {
    if (other instanceof Histogram) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    } else {
      for (const [index, n] of other.buckets) this.counts[index]! += n;
    }
    this.count += other.count;
    this.sumMicros += other.sumMicros;
    if (other.maxMicros > this.maxMicros) this.maxMicros = other.maxMicros;
  }

  /**
   * The value at quantile q (0..1): the upper edge of the bucket holding the ceil(q·count)-th
   * smallest sample (nearest-rank), capped by the largest value recorded. NaN when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketHigh(i), this.maxMicros);
    }
    return this.maxMicros;
  }

  mean(): number {
    return this.count === 0 ? Number.NaN : this.sumMicros / this.count;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sumMicros: this.sumMicros, maxMicros: this.maxMicros };
  }

  static from(snapshot: HistogramSnapshot): Histogram {
    const h = new Histogram();
    h.merge(snapshot);
    return h;
  }
}
