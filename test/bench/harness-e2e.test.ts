// A tiny end-to-end run of the harness: real brokers as child processes (Aedes always, Mosquitto
// when installed), real load generator processes of both kinds, very small counts and windows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { validateResultFile, type ResultFile, type ScenarioResult } from '../../bench/lib/result-schema.js';
import { mosquittoBinary } from '../../bench/lib/targets.js';
import { findScenario, type ScenarioOptions } from '../../bench/scenarios/index.js';
import { buildCLoadgen } from '../../bench/lib/c-loadgen.js';

const tiny = (loadgen: 'c' | 'node', clients?: number): ScenarioOptions => ({
  quick: true,
  loadgen,
  seed: 1,
  warmupSec: 0.2,
  durationSec: 0.4,
  ...(clients === undefined ? {} : { clients }),
});

function asFile(results: ScenarioResult[]): ResultFile {
  return {
    schemaVersion: 1,
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: 2, cpuModel: 'test', totalMemoryBytes: 1, node: process.version, os: 'linux' },
    options: { quick: true, loadgen: 'c', seed: 1, scenarios: [], targets: [] },
    results,
  };
}

async function run(scenario: string, target: string, options: ScenarioOptions): Promise<ScenarioResult> {
  const s = findScenario(scenario);
  assert.ok(s, scenario);
  const r = await runOne(s, target, options, {});
  assert.equal(r.status, 'ok', `${scenario} / ${target}: ${r.error ?? ''}`);
  assert.deepEqual(validateResultFile(asFile([r])), []);
  assert.ok(r.broker !== null && r.broker.peakRssBytes > 0 && r.broker.cpuSec > 0, 'broker figures from /proc');
  assert.ok(r.loadgen.processes > 0 && r.loadgen.cpuSec >= 0);
  assert.ok(r.throughput.value > 0, 'throughput');
  assert.ok(r.latency !== null && r.latency.p50Micros <= r.latency.p99Micros);
  return r;
}


describe('bench harness end to end', { timeout: 60_000 }, () => {
  it('QoS 0 fan-in against Aedes with the C generator: every published message is delivered', async () => {
    const r = await run('mqtt-qos0-fanin', 'aedes', tiny('c'));
    assert.ok(r.metrics['deliveredPerSec']! > 0);
    assert.ok(r.cpuMicrosPerUnit.loadgen !== null && r.cpuMicrosPerUnit.broker !== null);
  });

  it('QoS 1 fan-in against Aedes with the Node generator: acknowledgements and their latency', async () => {
    const r = await run('mqtt-qos1-fanin', 'aedes', tiny('node'));
    assert.ok(r.metrics['ackedPerSec']! > 0);
    assert.ok(r.metrics['ackP50Micros']! > 0);
    assert.ok(r.metrics['deliveredToAckedRatio']! > 0.5);
  });

  it('fan-out to 6 subscribers in 2 processes multiplies deliveries', async () => {
    const r = await run('mqtt-fanout', 'aedes', tiny('c', 6));
    assert.equal(r.params['subscribers'], 6);
    const ratio = r.metrics['deliveredPerSec']! / r.metrics['publishedPerSec']!;
    assert.ok(ratio > 4 && ratio < 8, `deliveries per publish ${ratio}`);
  });

  it('a connection storm of 60 clients against Mosquitto (or Aedes) counts connections and memory', async () => {
    const target = mosquittoBinary() === undefined ? 'aedes' : 'mosquitto';
    const r = await run('mqtt-connect-storm', target, tiny('c', 60));
    assert.equal(r.metrics['connected'], 60);
    assert.equal(r.metrics['failed'], 0);
    assert.equal(r.throughput.unit, 'conn/s');
    assert.notEqual(r.metrics['idleBytesPerConnection'], null);
  });

  it('the node-floor target (a bare Node server) takes a storm: every client gets its CONNACK', async () => {
    const r = await run('mqtt-connect-storm', 'node-floor', tiny('c', 60));
    assert.equal(r.metrics['connected'], 60);
    assert.equal(r.metrics['failed'], 0);
    assert.match(r.targetVersion ?? '', /^v\d+\./, 'the floor reports the Node version it measured');
  });

  it('records a target that does not answer MQTT as unavailable, not as a failure of the run', async () => {
    const s = findScenario('mqtt-qos0-fanin')!;
    const r = await runOne(s, '127.0.0.1:1', tiny('node'), {});
    assert.equal(r.status, 'unavailable');
    assert.match(r.error ?? '', /no MQTT CONNACK on 127\.0\.0\.1:1/);
    assert.deepEqual(validateResultFile(asFile([r])), []);
  });
});
