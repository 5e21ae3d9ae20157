import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateGate, parseBaselines, type Baselines, type GateRound } from '../../bench/lib/gate-check.js';
import type { ScenarioResult } from '../../bench/lib/result-schema.js';
import { parseCli } from '../../bench/run.js';

function result(target: string, throughput: number, metrics: Record<string, number | null> = {}, status: ScenarioResult['status'] = 'ok'): ScenarioResult {
  return {
    scenario: 'mqtt-qos0-fanin',
    target,
    status,
    ...(status === 'ok' ? {} : { error: `target ${target} unavailable: no MQTT CONNACK` }),
    targetVersion: null,
    params: {},
    windowSec: 2,
    throughput: { value: throughput, unit: 'msg/s', what: 'delivered' },
    metrics,
    latency: null,
    broker: null,
    loadgen: { processes: 5, cpuSec: 0.1, maxProcessUtilization: 0.05 },
    cpuMicrosPerUnit: { broker: null, loadgen: null },
    warnings: [],
  };
}

const baselines: Baselines = {
  candidate: 'outpost',
  reference: 'mosquitto',
  tolerance: 0.25,
  checks: [
    { scenario: 'mqtt-qos0-fanin', metric: 'throughput', kind: 'ratio', baseline: 1.0, why: 'test' },
    { scenario: 'mqtt-qos0-fanin', metric: 'idleBytesPerConnection', kind: 'max', limit: 16_384, tolerance: 0.1, why: 'test' },
  ],
};

function rounds(...pairs: Array<[ScenarioResult, ScenarioResult]>): Map<string, GateRound[]> {
  return new Map([['mqtt-qos0-fanin', pairs.map(([candidate, reference]) => ({ candidate, reference }))]]);
}

describe('bench gate judgement', () => {
  it('passes a ratio above the floor and a count under the ceiling', () => {
    const v = evaluateGate(baselines, rounds([result('outpost', 200_000, { idleBytesPerConnection: 9000 }), result('mosquitto', 160_000)]));
    assert.equal(v.status, 'pass', v.lines.join('\n'));
    assert.match(v.lines[0]!, /^PASS mqtt-qos0-fanin throughput: outpost\/mosquitto = 1\.25/);
  });

  it('fails below baseline × (1 − tolerance), naming the scenario and both figures', () => {
    const v = evaluateGate(baselines, rounds([result('outpost', 100_000, { idleBytesPerConnection: 9000 }), result('mosquitto', 160_000)]));
    assert.equal(v.status, 'fail');
    assert.match(v.lines[0]!, /^FAIL mqtt-qos0-fanin throughput: outpost\/mosquitto = 0\.63 \(best of each: outpost 100\.0k, mosquitto 160\.0k; baseline 1\.00, floor 0\.75/);
  });

  it('compares the best figure of each side over the rounds, since noise only makes a broker look worse', () => {
    const v = evaluateGate(
      baselines,
      rounds(
        [result('outpost', 100_000, { idleBytesPerConnection: 20_000 }), result('mosquitto', 160_000)],
        [result('outpost', 150_000, { idleBytesPerConnection: 12_000 }), result('mosquitto', 150_000)],
      ),
    );
    assert.equal(v.status, 'pass', v.lines.join('\n'));
    assert.match(v.lines[0]!, /= 0\.94 \(best of each: outpost 150\.0k, mosquitto 160\.0k;.*rounds: 0\.63, 1\.00\)/);
  });

  it('is not fooled by one disturbed reference round', () => {
    const v = evaluateGate(
      baselines,
      rounds(
        [result('outpost', 100_000, { idleBytesPerConnection: 9000 }), result('mosquitto', 40_000)],
        [result('outpost', 100_000, { idleBytesPerConnection: 9000 }), result('mosquitto', 160_000)],
      ),
    );
    assert.equal(v.status, 'fail', v.lines.join('\n'));
    assert.match(v.lines[0]!, /= 0\.63/);
  });

  it('fails a count over its limit with its own tolerance', () => {
    const v = evaluateGate(baselines, rounds([result('outpost', 200_000, { idleBytesPerConnection: 18_100 }), result('mosquitto', 160_000)]));
    assert.equal(v.status, 'fail');
    assert.match(v.lines[1]!, /^FAIL mqtt-qos0-fanin idleBytesPerConnection: outpost 18\.1k \(limit 16\.4k, ceiling 18\.0k/);
  });

  it('reports an unavailable target instead of passing', () => {
    const v = evaluateGate(baselines, rounds([result('outpost', 0, {}, 'unavailable'), result('mosquitto', 160_000)]));
    assert.equal(v.status, 'unavailable');
    assert.match(v.lines[0]!, /^UNAVAILABLE mqtt-qos0-fanin throughput: target outpost unavailable/);
    assert.equal(evaluateGate(baselines, new Map()).status, 'unavailable');
  });

  it('rejects malformed baselines with the reason', () => {
    assert.throws(() => parseBaselines({ candidate: 'outpost', reference: 'mosquitto', tolerance: 2, checks: [] }), /tolerance/);
    assert.throws(() => parseBaselines({ ...baselines, checks: [{ scenario: 'x', metric: 'y', kind: 'ratio', why: 'z' }] }), /positive baseline/);
    assert.deepEqual(parseBaselines(JSON.parse(JSON.stringify(baselines))), baselines);
  });
});

describe('bench command line', () => {
  it('defaults to every scenario and the three named targets', () => {
    const plan = parseCli([]);
    assert.deepEqual(plan.scenarios.map((s) => s.name), [
      'mqtt-qos0-fanin',
      'mqtt-qos0-fanin-topics',
      'mqtt-qos1-fanin',
      'mqtt-fanout',
      'mqtt-connect-storm',
      'mqtt-auth-storm',
      'mqtt-routed',
      'mqtt-routed-memory',
      'mqtt-routed-paced',
      'mqtt-routed-paced-memory',
      'micro-codec',
      'micro-topic-match',
      'micro-route-eval',
      'micro-worker-roundtrip',
      'micro-store-append',
      'micro-twin-reported',
      'methods-roundtrip',
    ]);
    assert.deepEqual(plan.targets, ['outpost', 'mosquitto', 'aedes']);
    assert.equal(plan.loadgen, 'c');
    assert.equal(plan.quick, false);
  });

  it('takes one scenario, host:port targets and options', () => {
    const plan = parseCli(['mqtt-fanout', '--target', 'mosquitto,127.0.0.1:1883', '--target', '[::1]:1884', '--quick', '--clients', '10', '--loadgen', 'node']);
    assert.deepEqual(plan.scenarios.map((s) => s.name), ['mqtt-fanout']);
    assert.deepEqual(plan.targets, ['mosquitto', '127.0.0.1:1883', '[::1]:1884']);
    assert.equal(plan.clients, 10);
    assert.equal(plan.loadgen, 'node');
    assert.deepEqual(parseCli(['--outpost-node-arg=--cpu-prof', '--outpost-node-arg=--cpu-prof-dir=/tmp/p']).outpostNodeArgs, ['--cpu-prof', '--cpu-prof-dir=/tmp/p']);
  });

  it('names what is wrong with a bad argument', () => {
    assert.throws(() => parseCli(['mqtt-nope']), /unknown scenario "mqtt-nope"/);
    assert.throws(() => parseCli(['--target', 'hivemq']), /unknown target "hivemq"/);
    assert.throws(() => parseCli(['--duration=0']), /--duration must be a positive number/);
    assert.throws(() => parseCli(['--loadgen', 'rust']), /--loadgen must be c or node/);
  });
});
