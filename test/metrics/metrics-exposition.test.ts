/**
 * The exposition itself: histogram buckets land where Prometheus expects them, label values are
 * escaped, a family's label sets are capped, and Prometheus' own parser (`promtool check metrics`,
 * Debian's prometheus package) accepts what every registered family renders.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HubControlClient, HubControlServer } from '../../src/hub/control/index.js';
import { createLogger } from '../../src/log/index.js';
import { promtool, unexpectedProblems } from './promtool.js';
import { AgentMetrics, HubMetrics, MAX_SERIES_PER_FAMILY, MetricsRegistry, OutpostMetrics, type MetricDefinition } from '../../src/metrics/index.js';

function sampleLine(text: string, prefix: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line !== undefined, `no line starts with ${prefix}\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics exposition', () => {
  it('histogram buckets are cumulative with `le` upper bounds inclusive, plus _sum and _count', () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({ name: 'test_size_bytes', help: 'sizes', labelNames: ['id'], buckets: [10, 100, 1000] });
    const series = histogram.series('a');
    for (const value of [0, 10, 11, 100, 999, 1000, 1001, 5000]) series.observe(value);
    const text = registry.render();
    assert.equal(sampleLine(text, 'test_size_bytes_bucket{id="a",le="10"}'), 2);
    assert.equal(sampleLine(text, 'test_size_bytes_bucket{id="a",le="100"}'), 4);
    assert.equal(sampleLine(text, 'test_size_bytes_bucket{id="a",le="1000"}'), 6);
    assert.equal(sampleLine(text, 'test_size_bytes_bucket{id="a",le="+Inf"}'), 8);
    assert.equal(sampleLine(text, 'test_size_bytes_sum{id="a"}'), 0 + 10 + 11 + 100 + 999 + 1000 + 1001 + 5000);
    assert.equal(sampleLine(text, 'test_size_bytes_count{id="a"}'), 8);
    assert.throws(() => registry.histogram({ name: 'test_bad', help: 'x', labelNames: [], buckets: [1, 1] }), /ascend/);
  });

  it('renders only the named families when asked, directly and through the control API (?name=, repeatable)', async () => {
    const registry = new MetricsRegistry({ iothub: 'h.example' });
    registry.gauge({ name: 'test_queue_length', help: 'queued', labelNames: ['endpoint'] }).series('$upstream').value = 7;
    registry.counter({ name: 'test_sent_total', help: 'sent', labelNames: ['id'] }).series('a').value = 3;
    registry.counter({ name: 'test_other_total', help: 'other', labelNames: [] }).series().value = 1;
    assert.equal(registry.render(new Set(['test_queue_length'])), '# HELP test_queue_length queued\n# TYPE test_queue_length gauge\ntest_queue_length{iothub="h.example",endpoint="$upstream"} 7\n');
    assert.equal(registry.render(new Set(['no_such_family'])), '');
    assert.equal(registry.render(), registry.render(new Set(['test_queue_length', 'test_sent_total', 'test_other_total'])));
    const dir = mkdtempSync(join(tmpdir(), 'outpost-metrics-names-'));
    const unused = () => Promise.resolve({ status: 404, body: {} });
    const server = await HubControlServer.start(join(dir, 'hub.sock'), { twin: unused, updateDesired: unused, invokeMethod: unused, metrics: (names) => registry.scrape(names) }, createLogger({ level: 'silent' }));
    try {
      const client = new HubControlClient(join(dir, 'hub.sock'));
      const text = async (path: string): Promise<string> => ((await client.call('GET', path)).body as { text: string }).text;
      assert.equal(await text('/v1/metrics'), registry.render());
      assert.equal(await text('/v1/metrics?name=test_queue_length'), registry.render(new Set(['test_queue_length'])));
      const two = await text('/v1/metrics?name=test_sent_total&name=test_other_total');
      assert.match(two, /^test_sent_total\{iothub="h\.example",id="a"\} 3$/m);
      assert.match(two, /^test_other_total\{iothub="h\.example"\} 1$/m);
      assert.doesNotMatch(two, /test_queue_length/);
      // A family that does not exist is a 400 naming it, not an empty text that reads as no data.
      const typo = await client.call('GET', '/v1/metrics?name=test_queue_lenght');
      assert.equal(typo.status, 400);
      assert.equal((typo.body as { code: string }).code, 'OUTPOST_CLI_USAGE');
      assert.match((typo.body as { message: string }).message, /no metric family named test_queue_lenght/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escapes label values and puts the common and fixed labels on every series', () => {
    const registry = new MetricsRegistry({ iothub: 'h.example', edge_device: 'edge' });
    const counter = registry.counter({ name: 'test_total', help: 'a "help" \\ text', labelNames: ['id'], fixedLabels: { ms_telemetry: 'True' } });
    counter.series('dev"1\\x\ny').value += 2;
    const text = registry.render();
    assert.match(text, /^test_total\{iothub="h\.example",edge_device="edge",ms_telemetry="True",id="dev\\"1\\\\x\\ny"\} 2$/m);
    assert.deepEqual(unexpectedProblems(promtool(text).problems), []);
  });

  it('caps the label sets of a family; the rest share one `other` series', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'test_capped_total', help: 'capped', labelNames: ['id'] });
    for (let i = 0; i < MAX_SERIES_PER_FAMILY + 50; i++) counter.series(`id${i}`).value += 1;
    assert.equal(counter.entries().length, MAX_SERIES_PER_FAMILY + 1);
    assert.equal(sampleLine(registry.render(), 'test_capped_total{id="other"}'), 50);
  });

  it('promtool accepts every registered family with samples, and rejects a broken exposition', () => {
    const registry = new MetricsRegistry({ iothub: 'h.example', edge_device: 'edge', instance_number: '00000000-0000-0000-0000-000000000000' });
    new HubMetrics(registry, 'edge');
    new OutpostMetrics(registry);
    new AgentMetrics(registry);
    for (const definition of registry.definitions() as MetricDefinition[]) {
      const family = registry.family(definition.name)!;
      const series = family.series(...definition.labelNames.map((l) => `v_${l}`));
      if ('observe' in series) series.observe(0.5);
      else series.value = 1;
    }
    const text = registry.render();
    const checked = promtool(text);
    assert.deepEqual(unexpectedProblems(checked.problems), [], checked.problems.join('\n'));
    // A sample whose value is not a number: promtool's parser must refuse it (the check can fail).
    const broken = promtool(text.replace(/^(edgehub_connected_clients\{[^}]*\}) 1$/m, '$1 one'));
    assert.notEqual(broken.status, 0);
    assert.ok(unexpectedProblems(broken.problems).length > 0);
  });
});
