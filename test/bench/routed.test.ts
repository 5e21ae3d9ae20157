// The routed scenarios (module output → route → module input on TLS) through the harness against
// a real Outpost hub, in short windows: messages are routed, acknowledged and delivered; the open
// loop never sends ahead of its schedule; the scenarios are Outpost's only.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runOne, runPlan } from '../../bench/lib/harness.js';
import { routedSetup } from '../../bench/lib/routed.js';
import { BENCH_EDGE_DEVICE } from '../../bench/lib/sas-devices.js';
import { findScenario, type ScenarioOptions } from '../../bench/scenarios/index.js';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { assertValidResult } from './result-file.js';

const short: ScenarioOptions = { quick: true, loadgen: 'c', seed: 9, warmupSec: 0.5, durationSec: 1 };

describe('routed scenarios', { timeout: 120_000 }, () => {
  it('prepares the hub: five module identities, the route in a deployment, the store as asked', (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outpost-bench-routed-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const args = routedSetup(dataDir, short, { persistent: false, offeredPerSec: 0 });
    assert.ok(args.includes('store.persistent=false'));
    const manifest = args[args.indexOf('--deployment') + 1]!;
    const routes = JSON.parse(readFileSync(manifest, 'utf8')).modulesContent.$edgeHub['properties.desired'].routes;
    assert.match(routes.toFilter, /INTO BrokeredEndpoint\("\/modules\/filter\/inputs\/in"\)/);
    const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: BENCH_EDGE_DEVICE });
    assert.deepEqual(registry.list().map((r) => r.moduleId), ['filter', 'sensor0', 'sensor1', 'sensor2', 'sensor3']);
  });

  it('mqtt-routed: module output is routed to the module input over TLS, acknowledged and delivered', async () => {
    const r = await runOne(findScenario('mqtt-routed')!, 'outpost', short, {});
    assert.equal(r.status, 'ok', r.error);
    assertValidResult(r);
    assert.equal(r.params['store'], 'rocksdb');
    assert.ok(r.metrics['ackedPerSec']! > 0 && r.metrics['deliveredPerSec']! > 0);
    assert.equal(r.throughput.value, r.metrics['deliveredPerSec']);
    assert.ok(r.latency !== null && r.latency.count > 0 && r.latency.p50Micros <= r.latency.p99Micros);
    assert.ok(r.broker !== null && r.broker.cpuSec > 0 && r.broker.peakRssBytes > 0);
    assert.ok(r.loadgen.processes === 2 && r.loadgen.cpuSec > 0);
  });

  it('mqtt-routed-paced-memory: the open loop sends no faster than offered and reports its backlog', async () => {
    const r = await runOne(findScenario('mqtt-routed-paced-memory')!, 'outpost', short, {});
    assert.equal(r.status, 'ok', r.error);
    assertValidResult(r);
    assert.equal(r.params['store'], 'memory');
    assert.equal(r.metrics['offeredPerSec'], 50_000);
    // Sent in the window = due in it + what was waiting at its start − what still waits at its
    // end; never more (a generator sending as fast as its windows allow, about twice that here,
    // would exceed it). Slack of a tenth of the window plus 50 ms: the generator sees the marks
    // later than the harness starts and ends its window, by more on a loaded machine.
    const sent = r.metrics['publishedPerSec']! * r.windowSec;
    const allowed = 50_000 * (r.windowSec * 1.1 + 0.05) + r.metrics['backlogAtBegin']! - r.metrics['backlogAtEnd']!;
    assert.ok(sent > 0 && sent <= allowed, `sent ${sent.toFixed(0)} in the window, at most ${allowed.toFixed(0)} were due (${JSON.stringify(r.metrics)})`);
    assert.ok(r.metrics['backlogAtBegin']! >= 0 && r.metrics['backlogAtEnd']! >= 0);
    assert.ok(r.metrics['deliveredPerSec']! > 0);
  });

  it('runs against Outpost only: other targets are skipped in a plan and unavailable alone', async () => {
    const routed = findScenario('mqtt-routed')!;
    const skipped: string[] = [];
    const file = await runPlan({ scenarios: [routed], targets: ['mosquitto', 'aedes'], options: short, targetOptions: {}, onSkip: (s, why) => skipped.push(`${s.name}: ${why}`) });
    assert.deepEqual(file.results, []);
    assert.deepEqual(skipped, ['mqtt-routed: runs only against outpost']);
    const alone = await runOne(routed, 'mosquitto', short, {});
    assert.equal(alone.status, 'unavailable');
    assert.match(alone.error ?? '', /runs only against outpost/);
  });
});
