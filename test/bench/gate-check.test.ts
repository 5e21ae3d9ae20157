import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { baselineFacts, chooseBaseline, type BaselineFacts } from '../../bench/lib/gate-baseline.js';
import { evaluateFloor, overallStatus } from '../../bench/lib/gate-check.js';
import { judgeRegression, spreadOf, type AbRuns } from '../../bench/lib/gate-compare.js';
import { parseGateConfig, planScenarios, type GateConfig, type RegressionCheck } from '../../bench/lib/gate-config.js';
import type { ScenarioResult } from '../../bench/lib/result-schema.js';
import { parseCli } from '../../bench/run.js';
import { findScenario } from '../../bench/scenarios/index.js';

const MiB = 1024 * 1024;
const names = { candidate: 'candidate 1a2b3c4', baseline: 'baseline 4fdce2a' };

function result(target: string, throughput: number, extra: { peak?: number; metrics?: Record<string, number | null>; status?: ScenarioResult['status'] } = {}): ScenarioResult {
  const status = extra.status ?? 'ok';
  return {
    scenario: 'mqtt-qos0-fanin',
    target,
    status,
    ...(status === 'ok' ? {} : { error: status === 'unavailable' ? `target ${target} unavailable: no MQTT CONNACK` : 'subscriber 0 exited with 1' }),
    targetVersion: null,
    params: {},
    windowSec: 2,
    throughput: { value: throughput, unit: 'msg/s', what: 'delivered' },
    metrics: extra.metrics ?? {},
    latency: null,
    broker: extra.peak === undefined ? null : { pid: 1, peakRssBytes: extra.peak, cpuSec: 1, cpuSecTotal: 2, utilization: 0.5 },
    loadgen: { processes: 5, cpuSec: 0.1, maxProcessUtilization: 0.05 },
    cpuMicrosPerUnit: { broker: null, loadgen: null },
    warnings: [],
  };
}

const throughput: RegressionCheck = { scenario: 'mqtt-qos0-fanin', metric: 'throughput', better: 'higher', tolerance: 0.1, why: 'test' };
const idleRss: RegressionCheck = { scenario: 'mqtt-qos0-fanin', metric: 'idleRssBytes', better: 'lower', tolerance: 0.05, slack: 2 * MiB, why: 'test' };
const peakRss: RegressionCheck = { scenario: 'mqtt-qos0-fanin', metric: 'peakRssBytes', better: 'lower', tolerance: 0.1, why: 'test' };

function ab(candidate: number[], baseline: number[]): AbRuns {
  return { candidate: candidate.map((v) => result('c', v)), baseline: baseline.map((v) => result('b', v)) };
}

describe('bench gate: regression against the baseline build', () => {
  it('passes a candidate within the tolerance of the baseline', () => {
    const o = judgeRegression(throughput, ab([950_000, 910_000], [1_000_000, 980_000]), names);
    assert.equal(o.status, 'pass', o.line);
    assert.equal(o.ratio, 0.95);
    assert.match(o.line, /^PASS mqtt-qos0-fanin throughput: candidate 1a2b3c4 950\.0k msg\/s vs baseline 4fdce2a 1\.00M msg\/s: 0\.950 of the baseline/);
  });

  it('fails a slower candidate, naming the scenario, both builds and every figure', () => {
    const o = judgeRegression(throughput, ab([760_000, 740_000], [1_000_000, 990_000]), names);
    assert.equal(o.status, 'fail');
    assert.equal(
      o.line,
      "FAIL mqtt-qos0-fanin throughput: candidate 1a2b3c4 760.0k msg/s vs baseline 4fdce2a 1.00M msg/s: 0.760 of the baseline, below the tolerated 0.874 (10% + this run's noise 2.6%) " +
        '(best of 2 runs each; candidate 1a2b3c4: 760.0k msg/s, 740.0k msg/s; baseline 4fdce2a: 1.00M msg/s, 990.0k msg/s)',
    );
  });

  it('judges each side by its best run: one disturbed run of either build decides nothing', () => {
    // A run of the candidate slowed by other processes on the cores, and then one of the baseline:
    // the spread is taken between each side's two best runs, so neither widens the tolerance.
    assert.equal(judgeRegression(throughput, ab([500_000, 990_000, 985_000], [1_000_000, 995_000]), names).status, 'pass');
    const o = judgeRegression(throughput, ab([760_000, 755_000, 750_000], [400_000, 1_000_000, 990_000]), names);
    assert.equal(o.status, 'fail', o.line);
    assert.equal(o.noise?.toFixed(3), '0.010');
  });

  it("widens the tolerance by this run's noise, and says so", () => {
    // Both builds' best two runs 30% apart (a machine shared with other work): 0.76 is not a verdict.
    const noisy = judgeRegression(throughput, ab([760_000, 532_000], [1_000_000, 700_000]), names);
    assert.equal(noisy.status, 'pass', noisy.line);
    assert.match(noisy.line, /^PASS \(too noisy to judge\) mqtt-qos0-fanin throughput: .*at or above the tolerated 0\.600 \(10% \+ this run's noise 30\.0%\)/);
    assert.equal(spreadOf([1_000_000], 'higher'), 0);
    assert.equal(spreadOf([3, 1, 4], 'lower').toFixed(3), '0.667');
    assert.equal(spreadOf([8, 10, 2], 'higher').toFixed(3), '0.200');
  });

  it('fails memory above baseline × (1 + tolerance) + slack, and takes the least of each side', () => {
    const runs = (c: number[], b: number[]): AbRuns => ({
      candidate: c.map((v) => result('c', 1, { metrics: { idleRssBytes: v } })),
      baseline: b.map((v) => result('b', 1, { metrics: { idleRssBytes: v } })),
    });
    // 100 MiB × 1.05 + 2 MiB = 107 MiB.
    assert.equal(judgeRegression(idleRss, runs([106 * MiB, 140 * MiB], [100 * MiB, 101 * MiB]), names).status, 'pass');
    const o = judgeRegression(idleRss, runs([130 * MiB, 131 * MiB], [100 * MiB, 120 * MiB]), names);
    assert.equal(o.status, 'fail');
    assert.match(o.line, /^FAIL mqtt-qos0-fanin idleRssBytes: candidate 1a2b3c4 130\.0 MiB vs baseline 4fdce2a 100\.0 MiB: 1\.300 of the baseline, above the tolerated 1\.217 \(5% \+ this run's noise 16\.7%\) \+ 2\.0 MiB \(123\.7 MiB\)/);
  });

  it("reads peak RSS from the broker's figures", () => {
    const runs: AbRuns = { candidate: [result('c', 1, { peak: 230 * MiB })], baseline: [result('b', 1, { peak: 200 * MiB })] };
    const o = judgeRegression(peakRss, runs, names);
    assert.equal(o.status, 'fail', o.line);
    assert.match(o.line, /230\.0 MiB vs baseline 4fdce2a 200\.0 MiB: 1\.150/);
  });

  it("reads the broker's CPU per message from its own figures", () => {
    const cpu: RegressionCheck = { scenario: 'mqtt-qos0-fanin', metric: 'brokerCpuMicros', better: 'lower', tolerance: 0.15, why: 'test' };
    const at = (micros: number): ScenarioResult => ({ ...result('x', 1), cpuMicrosPerUnit: { broker: micros, loadgen: null } });
    assert.equal(judgeRegression(cpu, { candidate: [at(1.1), at(0.9)], baseline: [at(0.8), at(1.2)] }, names).status, 'pass');
    const o = judgeRegression(cpu, { candidate: [at(1.1), at(1.05)], baseline: [at(0.8), at(0.82)] }, names);
    assert.equal(o.status, 'fail');
    assert.match(o.line, /candidate 1a2b3c4 1\.05 µs vs baseline 4fdce2a 0\.80 µs: 1\.313 of the baseline, above the tolerated 1\.195 \(15% \+ this run's noise 4\.5%\)/);
  });

  it('fails a candidate that fails the scenario; an unstartable one is unavailable, not a verdict', () => {
    const failed = judgeRegression(throughput, { candidate: [result('c', 0, { status: 'error' })], baseline: [result('b', 1_000_000)] }, names);
    assert.equal(failed.status, 'fail');
    assert.match(failed.line, /^FAIL mqtt-qos0-fanin throughput: candidate 1a2b3c4 error: subscriber 0 exited with 1/);
    const gone = judgeRegression(throughput, { candidate: [result('c', 0, { status: 'unavailable' })], baseline: [result('b', 1_000_000)] }, names);
    assert.equal(gone.status, 'unavailable');
  });

  it('judges the runs that ran when one hub did not start in time on a loaded machine', () => {
    const late = result('b', 0, { status: 'unavailable' });
    const o = judgeRegression(throughput, { candidate: [result('c', 700_000), result('c', 690_000)], baseline: [late, result('b', 1_000_000)] }, names);
    assert.equal(o.status, 'fail', o.line);
    assert.match(o.line, /best of 2 and 1 runs; candidate 1a2b3c4: 700\.0k msg\/s, 690\.0k msg\/s; baseline 4fdce2a: 1\.00M msg\/s\)$/);
  });

  it('leaves a check unjudged (to the floors) when the baseline could not run the scenario', () => {
    const o = judgeRegression(throughput, { candidate: [result('c', 900_000)], baseline: [result('b', 0, { status: 'error' })] }, names);
    assert.equal(o.status, 'unjudged');
    assert.match(o.line, /^NO BASELINE mqtt-qos0-fanin throughput: baseline 4fdce2a error: .*the floors judge it alone/);
    assert.equal(overallStatus([o]), 'pass');
  });
});

describe('bench gate: floors', () => {
  const refNames = { candidate: 'candidate 1a2b3c4', reference: 'mosquitto' };

  it('judges best candidate ÷ best reference against a loose floor', () => {
    const floor = { scenario: 'mqtt-qos0-fanin', metric: 'throughput', kind: 'ratio' as const, floor: 1.0, why: 'test' };
    const pass = evaluateFloor(floor, { candidate: [result('c', 150_000), result('c', 120_000)], reference: [result('m', 100_000)] }, refNames);
    assert.equal(pass.status, 'pass', pass.line);
    assert.match(pass.line, /candidate 1a2b3c4\/mosquitto = 1\.50 \(best of each: 150\.0k, 100\.0k; floor 1\.00\)/);
    assert.equal(evaluateFloor(floor, { candidate: [result('c', 90_000)], reference: [result('m', 40_000), result('m', 100_000)] }, refNames).status, 'fail');
    const noRef = evaluateFloor(floor, { candidate: [result('c', 90_000)], reference: [result('m', 0, { status: 'unavailable' })] }, refNames);
    assert.equal(noRef.status, 'unavailable');
    assert.equal(overallStatus([pass, noRef]), 'unavailable');
  });

  it('holds a count of the candidate alone under a ceiling, on its lowest run', () => {
    const ceiling = { scenario: 'mqtt-connect-storm', metric: 'idleBytesPerConnection', kind: 'max' as const, ceiling: 18_022, why: 'test' };
    const runs = (...v: number[]): { candidate: ScenarioResult[]; reference: ScenarioResult[] } => ({ candidate: v.map((b) => result('c', 1, { metrics: { idleBytesPerConnection: b } })), reference: [] });
    assert.equal(evaluateFloor(ceiling, runs(20_000, 8_000), refNames).status, 'pass');
    const o = evaluateFloor(ceiling, runs(18_100, 19_000), refNames);
    assert.equal(o.status, 'fail');
    assert.match(o.line, /^FAIL mqtt-connect-storm idleBytesPerConnection: candidate 1a2b3c4 17\.7 KiB \(ceiling 17\.6 KiB; runs: 17\.7 KiB, 18\.6 KiB\)/);
  });
});

describe('bench gate: settings', () => {
  const config: GateConfig = {
    baselineCommit: null,
    reference: 'mosquitto',
    pairs: 2,
    confirmPairs: 2,
    regression: [throughput, idleRss],
    floors: [
      { scenario: 'mqtt-qos0-fanin', metric: 'throughput', kind: 'ratio', floor: 1, why: 'test' },
      { scenario: 'mqtt-auth-storm', metric: 'cpuPerConnRatio', kind: 'max', ceiling: 1.21, why: 'test' },
    ],
  };

  it('plans each named scenario once: A/B with a regression check, against the reference with a ratio floor', () => {
    assert.deepEqual(planScenarios(config), [
      { scenario: 'mqtt-qos0-fanin', ab: true, reference: true },
      { scenario: 'mqtt-auth-storm', ab: false, reference: false },
    ]);
  });

  it('rejects malformed settings with the reason', () => {
    assert.throws(() => parseGateConfig({ ...config, baselineCommit: '4fdce2a' }), /full 40-digit/);
    assert.throws(() => parseGateConfig({ ...config, pairs: 0 }), /pairs/);
    assert.throws(() => parseGateConfig({ ...config, regression: [{ ...throughput, tolerance: 1.5 }] }), /tolerance/);
    assert.throws(() => parseGateConfig({ ...config, regression: [{ ...throughput, slack: 5 }] }), /slack/);
    assert.throws(() => parseGateConfig({ ...config, floors: [{ scenario: 'x', metric: 'y', kind: 'ratio', why: 'z' }] }), /positive floor/);
    assert.deepEqual(parseGateConfig(JSON.parse(JSON.stringify(config))), config);
  });

  it('the committed bench/gate.json parses and names only known scenarios', () => {
    const file = fileURLToPath(new URL('../../../bench/gate.json', import.meta.url));
    const committed = parseGateConfig(JSON.parse(readFileSync(file, 'utf8')));
    for (const plan of planScenarios(committed)) assert.ok(findScenario(plan.scenario) !== undefined, plan.scenario);
    assert.ok(committed.regression.some((c) => c.scenario === 'mqtt-routed'), 'the store path (mqtt-routed) is guarded');
  });
});

describe('bench gate: which commit is the baseline', () => {
  const head = 'c'.repeat(40);
  const facts: BaselineFacts = { head, recorded: 'a'.repeat(40), recordedInHistory: true };

  it('takes --baseline first, then the merge base of a branch, then the recorded commit on main', () => {
    assert.deepEqual(chooseBaseline({ ...facts, explicit: 'e'.repeat(40), mergeBase: 'b'.repeat(40) }), { commit: 'e'.repeat(40), how: 'given with --baseline' });
    assert.equal((chooseBaseline({ ...facts, mergeBase: 'b'.repeat(40) }) as { commit: string }).commit, 'b'.repeat(40));
    // CI: a clone of main, whose merge base with main is HEAD itself.
    assert.equal((chooseBaseline({ ...facts, mergeBase: head }) as { commit: string }).commit, 'a'.repeat(40));
  });

  it('says why there is none: nothing recorded, or the recorded commit is not in this history', () => {
    assert.deepEqual(chooseBaseline({ ...facts, recorded: null }), { none: 'bench/gate.json records no baseline commit' });
    assert.match((chooseBaseline({ ...facts, recordedInHistory: false }) as { none: string }).none, /aaaaaaa is not in this clone's history/);
  });

  const repo = mkdtempSync(join(tmpdir(), 'outpost-gate-git-'));
  after(() => rmSync(repo, { recursive: true, force: true }));
  const git = (...args: string[]): string => {
    const out = spawnSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout.trim();
  };
  const commit = (text: string): string => {
    writeFileSync(join(repo, 'f.txt'), text);
    git('add', 'f.txt');
    git('commit', '-q', '-m', text);
    return git('rev-parse', 'HEAD');
  };

  it('reads the facts from a real repository: main, a branch off it, the recorded commit', () => {
    git('init', '-q', '-b', 'main');
    const first = commit('one');
    const landed = commit('two');
    const onMain = baselineFacts(repo, first, undefined);
    assert.ok(!(onMain instanceof Error));
    assert.deepEqual(chooseBaseline(onMain), { commit: first, how: 'recorded in bench/gate.json (the last landed commit whose gate passed)' });
    git('checkout', '-q', '-b', 'feature');
    commit('three');
    const onBranch = baselineFacts(repo, first, undefined);
    assert.ok(!(onBranch instanceof Error));
    assert.deepEqual(chooseBaseline(onBranch), { commit: landed, how: 'the merge base of HEAD with main' });
    const notAncestor = baselineFacts(repo, 'f'.repeat(40), 'HEAD~1');
    assert.ok(!(notAncestor instanceof Error));
    assert.equal(notAncestor.recordedInHistory, false);
    assert.equal(notAncestor.explicit, landed);
    assert.match(String(baselineFacts(repo, null, 'no-such-rev')), /--baseline no-such-rev is not a commit/);
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
      'mqtt-tls-storm',
      'mqtt-auth-storm',
      'idle-devices',
      'idle-devices-plain',
      'idle-floor',
      'mqtt-routed',
      'mqtt-routed-memory',
      'mqtt-routed-paced',
      'mqtt-routed-paced-memory',
      'mqtt-routed-ws',
      'amqp-telemetry',
      'amqp-telemetry-durable',
      'amqp-routed',
      'micro-codec',
      'micro-amqp-codec',
      'micro-topic-match',
      'micro-route-eval',
      'micro-worker-roundtrip',
      'micro-store-append',
      'micro-twin-reported',
      'methods-roundtrip',
      'upstream-drain',
      'upstream-drain-unbatched',
      'upstream-drain-100',
      'upstream-drain-100-unbatched',
      'upstream-drain-1000',
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
    assert.equal(parseCli(['--outpost-root', '.']).outpostRoot, process.cwd());
    assert.equal(parseCli([]).outpostRoot, undefined);
  });

  it('names what is wrong with a bad argument', () => {
    assert.throws(() => parseCli(['mqtt-nope']), /unknown scenario "mqtt-nope"/);
    assert.throws(() => parseCli(['--target', 'hivemq']), /unknown target "hivemq"/);
    assert.throws(() => parseCli(['--duration=0']), /--duration must be a positive number/);
    assert.throws(() => parseCli(['--loadgen', 'rust']), /--loadgen must be c or node/);
    assert.throws(() => parseCli(['--outpost-root', '/nonexistent-outpost']), /--outpost-root \/nonexistent-outpost is not a built Outpost checkout/);
  });
});
