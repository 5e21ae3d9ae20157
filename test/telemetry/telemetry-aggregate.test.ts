/**
 * The parts of runtime quality telemetry that need no hub: which label values leave readable and
 * which are hashed, how increases add up across scrapes, restarts and periods, the bound on
 * series, and the aggregate file's validation. The hub-level behaviour is in the other files here.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { AgentMetrics, HubMetrics, MetricsRegistry, type ValueSeries } from '../../src/metrics/index.js';
import {
  adoptInstance,
  buildReport,
  encodeReport,
  freshAggregate,
  MAX_AGGREGATE_SERIES,
  MAX_BODY_BYTES,
  parseAggregate,
  recordScrape,
  startPeriod,
  taggedSamples,
  TelemetryAnonymizer,
  type Sample,
} from '../../src/telemetry/index.js';

const SALT = Buffer.alloc(32, 7);
const VALUES = { deviceId: 'edge-gw-31', iotHubHostname: 'fabrikam-hub.azure-devices.net', gatewayHostname: 'gw31.plant.example', hostnames: ['plant-host-9'], addresses: ['10.20.30.40', 'fe80::1234'] };
const anonymizer = new TelemetryAnonymizer(SALT, VALUES);
const hash = (value: string) => `sha256:${createHmac('sha256', SALT).update(value).digest('hex').slice(0, 32)}`;

const counter = (name: string, value: number, labels: Record<string, string> = {}): Sample => ({ name, type: 'counter', labels, value });

describe('telemetry anonymizer', () => {
  it('replaces the edge device, hashes other devices and modules with the salt, keeps the runtime\'s own modules', () => {
    assert.equal(anonymizer.label('id', 'edge-gw-31'), 'device');
    assert.equal(anonymizer.label('id', 'edge-gw-31/$edgeHub'), 'device/$edgeHub');
    assert.equal(anonymizer.label('from', 'edge-gw-31/filter'), `device/${hash('filter')}`);
    assert.equal(anonymizer.label('id', 'leaf-7'), hash('leaf-7'));
    assert.equal(anonymizer.label('to', 'upstream'), 'upstream');
    assert.equal(anonymizer.label('module_name', 'camera'), hash('camera'));
    assert.equal(anonymizer.label('module_name', 'edgeAgent'), 'edgeAgent');
    // A client id is whatever the client wrote: more than one slash is hashed whole.
    assert.equal(anonymizer.label('id', 'a/b/c'), hash('a/b/c'));
    // Another installation (another salt) hashes the same name differently.
    assert.notEqual(new TelemetryAnonymizer(Buffer.alloc(32, 8), VALUES).label('module_name', 'camera'), hash('camera'));
  });

  it('hashes free-form labels, keeps enumerated ones unless they contain something identifying', () => {
    assert.equal(anonymizer.label('from_route_output', 'alerts'), hash('alerts'));
    assert.equal(anonymizer.label('module_version', '1.2'), hash('1.2'));
    assert.equal(anonymizer.label('some_new_label', 'x'), hash('x'));
    assert.equal(anonymizer.label('reason', 'no_route'), 'no_route');
    assert.equal(anonymizer.label('priority', '2000000000'), '2000000000');
    assert.equal(anonymizer.label('protocol', 'mqtt'), 'mqtt');
    assert.equal(anonymizer.label('reason', 'edge-gw-31_down'), hash('edge-gw-31_down'));
    assert.equal(anonymizer.label('source', 'FABRIKAM-HUB'), hash('FABRIKAM-HUB'));
    assert.equal(anonymizer.label('command', 'plant-host-9'), hash('plant-host-9'));
    assert.equal(anonymizer.label('reason', '10.20.30.40'), hash('10.20.30.40'));
    assert.equal(anonymizer.label('reason', 'not a token'), hash('not a token'));
  });

  it('reads only the families tagged ms_telemetry, without the common labels', () => {
    const registry = new MetricsRegistry({ iothub: VALUES.iotHubHostname, edge_device: VALUES.deviceId, instance_number: 'x' });
    new HubMetrics(registry, VALUES.deviceId);
    new AgentMetrics(registry);
    (registry.family('edgehub_client_connect_failed_total')!.series('leaf-7', 'not_authenticated', 'mqtt') as ValueSeries).value = 3;
    (registry.family('edgehub_client_connect_success_total')!.series('leaf-7') as ValueSeries).value = 5; // not tagged
    (registry.family('edgeAgent_module_start_total')!.series('camera', '1.0') as ValueSeries).value = 1;
    const samples = taggedSamples(registry, anonymizer);
    assert.deepEqual(samples.map((s) => s.name).sort(), ['edgeAgent_module_start_total', 'edgehub_client_connect_failed_total']);
    assert.deepEqual(samples.find((s) => s.name === 'edgehub_client_connect_failed_total')!.labels, { id: hash('leaf-7'), reason: 'not_authenticated', protocol: 'mqtt' });
    const text = JSON.stringify(samples);
    for (const secret of ['leaf-7', 'camera', VALUES.deviceId, 'fabrikam']) assert.ok(!text.includes(secret), secret);
  });
});

describe('telemetry aggregate', () => {
  it('adds increases across scrapes and process restarts, and starts a period from zero after a send', () => {
    const state = freshAggregate('p1', 0);
    recordScrape(state, [counter('c', 5)], 1);
    recordScrape(state, [counter('c', 8)], 2);
    assert.deepEqual(buildReport(state, 2, '0.0.0').metrics, [{ name: 'c', type: 'counter', labels: {}, value: 8 }]);
    // A new process: its counter starts at 0 again; 2 more is 10 in all, not 2 or a negative increase.
    const reread = parseAggregate(JSON.stringify(state));
    adoptInstance(reread, 'p2');
    recordScrape(reread, [counter('c', 2)], 3);
    const report = buildReport(reread, 4, '0.0.0');
    assert.deepEqual(report.metrics, [{ name: 'c', type: 'counter', labels: {}, value: 10 }]);
    assert.equal(report.period.processStarts, 2);
    assert.equal(report.period.scrapes, 3);
    startPeriod(reread, 5);
    recordScrape(reread, [counter('c', 2)], 6);
    assert.deepEqual(buildReport(reread, 7, '0.0.0').metrics, [], 'nothing new after the send: nothing to report');
    recordScrape(reread, [counter('c', 6)], 8);
    assert.deepEqual(buildReport(reread, 9, '0.0.0').metrics.map((m) => m.type === 'counter' && m.value), [4]);
  });

  it('keeps histogram increases per bucket and gauge min, max and mean', () => {
    const state = freshAggregate('p1', 0);
    const histogram = (counts: number[], sum: number): Sample => ({ name: 'h', type: 'histogram', labels: { to: 'upstream' }, bounds: [1, 10], counts, sum, count: counts.reduce((a, b) => a + b, 0) });
    recordScrape(state, [histogram([1, 0, 0], 0.5), { name: 'g', type: 'gauge', labels: {}, value: 4 }], 1);
    recordScrape(state, [histogram([1, 2, 1], 30), { name: 'g', type: 'gauge', labels: {}, value: 2 }], 2);
    const metrics = buildReport(state, 3, '0.0.0').metrics;
    assert.deepEqual(metrics.find((m) => m.name === 'h'), { name: 'h', type: 'histogram', labels: { to: 'upstream' }, bounds: [1, 10], counts: [1, 2, 1], sum: 30, count: 4 });
    assert.deepEqual(metrics.find((m) => m.name === 'g'), { name: 'g', type: 'gauge', labels: {}, min: 2, max: 4, mean: 3, last: 2, samples: 2 });
  });

  it('stays bounded: series past the limit share one `other` series per family, and the body stays under the message limit', () => {
    const state = freshAggregate('p1', 0);
    const many = Array.from({ length: MAX_AGGREGATE_SERIES + 50 }, (_, i) => counter('c', 1, { id: hash(`leaf-${i}`) }));
    recordScrape(state, many, 1);
    assert.equal(Object.keys(state.series).length, MAX_AGGREGATE_SERIES + 1);
    const other = Object.values(state.series).find((s) => s.labels.id === 'other');
    assert.ok(other?.type === 'counter' && other.total === 50);
    const wide = Array.from({ length: MAX_AGGREGATE_SERIES }, (_, i) => ({ name: 'h', type: 'histogram' as const, labels: { a: hash(`a${i}`), b: hash(`b${i}`), c: hash(`c${i}`) }, bounds: Array.from({ length: 100 }, (_, j) => j + 1), counts: Array.from({ length: 101 }, () => 123456), sum: 1e9, count: 101 * 123456 }));
    const big = freshAggregate('p1', 0);
    recordScrape(big, wide, 1);
    const report = buildReport(big, 2, '0.0.0');
    const body = encodeReport(report);
    assert.ok(body.byteLength <= MAX_BODY_BYTES, `${body.byteLength} bytes`);
    assert.ok(report.omittedSeries > 0);
    assert.equal(report.metrics.length + report.omittedSeries, MAX_AGGREGATE_SERIES);
  });

  it('refuses an aggregate file that is not one, field by field', () => {
    const good = freshAggregate('p1', 0);
    recordScrape(good, [counter('c', 1)], 1);
    assert.doesNotThrow(() => parseAggregate(JSON.stringify(good)));
    const broken = [
      '',
      '{"format":1',
      'null',
      JSON.stringify({ ...good, format: 2 }),
      JSON.stringify({ ...good, periodStartMs: 'soon' }),
      JSON.stringify({ ...good, series: { k: { name: 'c', type: 'counter', labels: {}, total: -1, last: 0 } } }),
      JSON.stringify({ ...good, series: { k: { name: 'h', type: 'histogram', labels: {}, bounds: [1], counts: [1], sum: 0, count: 1, lastCounts: [0, 0], lastSum: 0, lastCount: 0 } } }),
      JSON.stringify({ ...good, series: { k: { name: 'c', type: 'summary', labels: {} } } }),
    ];
    for (const text of broken) assert.throws(() => parseAggregate(text), Error, text.slice(0, 60));
  });
});
