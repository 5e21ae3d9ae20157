// The micro-benchmarks through the harness: each 'local' scenario runs once per plan in a child
// process of its own, whatever the targets, and its result (with one figure per variant) is a
// valid results file; the variant table is printed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne, runPlan } from '../../bench/lib/harness.js';
import { measureVariants } from '../../bench/lib/micro.js';
import { formatMarkdown, formatTable } from '../../bench/lib/table.js';
import { parseCli } from '../../bench/run.js';
import { findScenario, SCENARIOS, type ScenarioOptions } from '../../bench/scenarios/index.js';
import { assertValidResult } from './result-file.js';

const quick: ScenarioOptions = { quick: true, loadgen: 'node', seed: 3 };

const EXPECTED: Record<string, string[]> = {
  'micro-codec': ['framer+decodePublish', 'scan-ts', 'mqtt-packet', 'encodePublishHeader', 'mqtt-packet-generate'],
  'micro-amqp-codec': ['encodeModuleInput', 'rhea-encode', 'decodeMessage', 'rhea-decode', 'encodeFrame', 'rhea-write-frame'],
  'micro-topic-match': ['subscription-trie', 'index-ts', 'topicMatches'],
  'micro-route-eval': ['props-10', 'props-100', 'body-10', 'body-100', 'body-10-parse-per-route'],
  'micro-worker-roundtrip': ['batch-1', 'batch-16', 'batch-256', 'batch-256-x2'],
  'micro-store-append': ['rocksdb', 'rocksdb-sync-batch', 'memory', 'rocksdb-serial'],
  'micro-twin-reported': ['rocksdb', 'memory', 'rocksdb-serial'],
  'methods-roundtrip': ['concurrent', 'serial'],
};

describe('micro-benchmarks in the harness', { timeout: 120_000 }, () => {
  it('lists every micro-benchmark as a local scenario', () => {
    const local = SCENARIOS.filter((s) => s.kind === 'local').map((s) => s.name);
    assert.deepEqual(local.sort(), Object.keys(EXPECTED).sort());
    assert.deepEqual(parseCli(['micro-codec', 'micro-topic-match']).scenarios.map((s) => s.name), ['micro-codec', 'micro-topic-match']);
  });

  for (const [name, variants] of Object.entries(EXPECTED)) {
    it(`${name}: every variant measured, a valid result whatever the target`, async () => {
      const r = await runOne(findScenario(name)!, 'mosquitto', quick, {});
      assert.equal(r.status, 'ok', r.error);
      assert.equal(r.target, 'local');
      assert.equal(r.broker, null);
      const names = (r.variants ?? []).map((v) => v.name);
      for (const v of variants) assert.ok(names.includes(v), `${name} lacks ${v} (has ${names.join(', ')})`);
      for (const v of r.variants ?? []) assert.ok(v.value > 0 && v.min <= v.value && v.value <= v.max, `${v.name}: ${v.min} ≤ ${v.value} ≤ ${v.max}`);
      assert.ok(r.throughput.value > 0);
      assertValidResult(r, 'node');
      assert.match(formatTable([r]), new RegExp(`${name}\\s+${variants[0]!.replace(/[+]/g, '\\+')}\\s`));
    });
  }

  it('runs a local scenario once per plan, not once per target', async () => {
    const file = await runPlan({ scenarios: [findScenario('micro-topic-match')!], targets: ['outpost', 'mosquitto', 'aedes'], options: quick, targetOptions: {} });
    assert.deepEqual(file.results.map((r) => `${r.scenario}/${r.target}/${r.status}`), ['micro-topic-match/local/ok']);
    assert.match(formatMarkdown(file.results), /\| micro-topic-match \| subscription-trie \|/);
  });

  it('interleaves variants and states each relative to the baseline', async () => {
    const order: string[] = [];
    const measured = await measureVariants(
      [
        { name: 'a', what: '', unit: 'op', pass: () => (order.push('a'), 1) },
        { name: 'b', what: '', unit: 'op', pass: () => (order.push('b'), 1) },
      ],
      { trials: 3, trialMs: 1, warmupMs: 1 },
      'b',
    );
    assert.equal(measured.find((v) => v.name === 'b')?.relative, 1);
    // After the warm-up, trial 2 starts with b: a slow phase of the machine hits both.
    const switches = order.filter((x, i) => i > 0 && x !== order[i - 1]).length;
    assert.ok(switches >= 4, `variants alternate (${switches} switches)`);
  });
});
