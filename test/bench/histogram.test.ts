import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { buildCLoadgen } from '../../bench/lib/c-loadgen.js';
import { bucketHigh, bucketLow, bucketOf, Histogram } from '../../bench/lib/histogram.js';
import { mulberry32 } from '../../bench/loadgen/prng.js';

/** Values across the whole range: exact small ones, bucket edges, and seeded random large ones. */
function sampleValues(): number[] {
  const values = [0, 1, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096, 65_535, 1e6, 2 ** 32 - 1, 2 ** 32, 2 ** 33 + 5];
  const random = mulberry32(7);
  for (let i = 0; i < 2000; i++) values.push(Math.floor(random() ** 4 * 1e9));
  return values;
}

describe('latency histogram buckets', () => {
  it('puts every value in a bucket whose range holds it, within 1/64 of its width', () => {
    for (const v of sampleValues()) {
      const b = bucketOf(v);
      assert.ok(bucketLow(b) <= v && v <= bucketHigh(b), `${v} in bucket ${b} [${bucketLow(b)}, ${bucketHigh(b)}]`);
      assert.ok(bucketHigh(b) - bucketLow(b) <= Math.max(0, v / 64), `bucket of ${v} too wide`);
    }
  });

  it('is monotonic: a larger value never lands in a lower bucket', () => {
    const values = sampleValues().sort((a, b) => a - b);
    for (let i = 1; i < values.length; i++) assert.ok(bucketOf(values[i]!) >= bucketOf(values[i - 1]!));
  });

  it('matches the C load generator bucket for bucket (its histograms merge with the Node ones)', (t) => {
    const binary = buildCLoadgen();
    // The C compiler is installed by scripts/install-bench-deps.sh: without it this must fail.
    if (binary instanceof Error) assert.fail(`the C load generator does not build: ${binary.message}`);
    const values = sampleValues();
    const out = spawnSync(binary, ['bucket', ...values.map(String)], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split('\n').map(Number), values.map(bucketOf));
  });
});

describe('latency histogram quantiles', () => {
  it('gives nearest-rank quantiles within the bucket error', () => {
    const h = new Histogram();
    for (let v = 1; v <= 10_000; v++) h.record(v);
    const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= expected / 64 + 1, `${actual} vs ${expected}`);
    close(h.quantile(0.5), 5000);
    close(h.quantile(0.99), 9900);
    assert.equal(h.quantile(1), 10_000);
    assert.equal(h.quantile(0), 1);
    assert.equal(h.count, 10_000);
    assert.equal(h.mean(), 5000.5);
  });

  it('never reports more than the largest value recorded', () => {
    const h = new Histogram();
    h.record(1000);
    assert.equal(h.quantile(0.99), 1000);
  });

  it('is NaN when empty, and recordMany equals repeated record', () => {
    assert.ok(Number.isNaN(new Histogram().quantile(0.5)));
    const a = new Histogram();
    const b = new Histogram();
    a.recordMany(250, 3);
    for (let i = 0; i < 3; i++) b.record(250);
    assert.deepEqual(a.snapshot(), b.snapshot());
  });

  it('merges snapshots from several processes into the histogram of the union', () => {
    const whole = new Histogram();
    const parts = [new Histogram(), new Histogram(), new Histogram()];
    const random = mulberry32(42);
    for (let i = 0; i < 30_000; i++) {
      const v = Math.floor(random() * 50_000);
      whole.record(v);
      parts[i % 3]!.record(v);
    }
    const merged = new Histogram();
    for (const p of parts) merged.merge(JSON.parse(JSON.stringify(p.snapshot())));
    assert.deepEqual(merged.snapshot(), whole.snapshot());
    for (const q of [0.5, 0.9, 0.99, 0.999]) assert.equal(merged.quantile(q), whole.quantile(q));
  });
});
