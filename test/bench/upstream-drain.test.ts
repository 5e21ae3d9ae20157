// The upstream-drain scenarios (issue 18) through the harness, short: the harness starts the
// parent, the scenario a child whose `$upstream` link is cut while module output fills its store,
// then restored; the whole backlog reaches the parent's store, and drain start and msg/s are
// reported in a valid result. Also what the parent is prepared with before it starts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { BENCH_EDGE_DEVICE, derivedKey } from '../../bench/lib/sas-devices.js';
import { upstreamParentSetup } from '../../bench/lib/upstream-drain.js';
import { findScenario, type ScenarioOptions } from '../../bench/scenarios/index.js';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { assertValidResult } from './result-file.js';

const short: ScenarioOptions = { quick: true, loadgen: 'node', seed: 13, durationSec: 0.5 };

describe('upstream scenarios', { timeout: 240_000 }, () => {
  it('prepares the parent: the child edge device and its modules with the child\'s keys, the sink and its route', (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outpost-bench-upstream-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const args = upstreamParentSetup(dataDir, short, { identities: 3, maxBatchSize: 10 });
    assert.ok(args.includes('deviceId=bench-parent'));
    const routes = JSON.parse(readFileSync(args[args.indexOf('--deployment') + 1]!, 'utf8')).modulesContent.$edgeHub['properties.desired'].routes;
    assert.match(routes.toSink, /INTO BrokeredEndpoint\("\/modules\/sink\/inputs\/in"\)/);
    const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: 'bench-parent' });
    const edge = registry.get(BENCH_EDGE_DEVICE)!;
    assert.equal(edge.authentication.type === 'sas' && edge.authentication.primaryKey, derivedKey(13, BENCH_EDGE_DEVICE));
    assert.deepEqual(registry.list().filter((r) => r.deviceId === BENCH_EDGE_DEVICE && r.moduleId !== undefined).map((r) => r.moduleId).sort(), ['up0', 'up1', 'up2']);
  });

  for (const name of ['upstream-drain', 'upstream-drain-unbatched']) {
    it(`${name}: the child's backlog reaches the parent once the link is restored, with drain start and msg/s`, async () => {
      const r = await runOne(findScenario(name)!, 'outpost', short, {});
      assert.equal(r.status, 'ok', r.error);
      assertValidResult(r, 'node');
      assert.equal(r.params['maxBatchSize'], name === 'upstream-drain' ? 10 : 1);
      assert.ok(r.metrics['backlog']! > 0);
      assert.ok(r.metrics['drainStartMs']! > 0);
      assert.equal(r.throughput.value, r.metrics['upstreamPerSec']);
      assert.ok(r.throughput.value > 0);
      assert.ok(r.broker !== null && r.broker.cpuSec > 0);
    });
  }

  it('runs against Outpost only', async () => {
    const alone = await runOne(findScenario('upstream-drain-100')!, 'mosquitto', short, {});
    assert.equal(alone.status, 'unavailable');
  });
});
