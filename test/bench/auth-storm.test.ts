// mqtt-auth-storm against a real Outpost hub (a child process): the devices the scenario
// registers before the hub starts, with the tokens it signs, are accepted as IoT Hub devices; a
// wrong signature is refused (so a SAS storm can never quietly be an anonymous one); and a small
// run gives a valid result with both kinds of storm and their ratios.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { BENCH_EDGE_DEVICE, BENCH_HUB_ARGS, BENCH_IOT_HUB, benchDevices, loginOf, registerIdentities } from '../../bench/lib/sas-devices.js';
import { StormLoad } from '../../bench/lib/storm-load.js';
import { startTarget } from '../../bench/lib/targets.js';
import { findScenario } from '../../bench/scenarios/index.js';
import { IdentityRegistry, parseSasToken } from '../../src/hub/auth/index.js';
import { assertValidResult } from './result-file.js';

describe('SAS devices for the benchmarks', () => {
  it('derives the same devices and tokens from a seed, and registers them as children of the bench edge device', (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outpost-bench-sas-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const devices = benchDevices(7, 3);
    assert.deepEqual(benchDevices(7, 3), devices);
    assert.notEqual(benchDevices(8, 1)[0]!.key, devices[0]!.key);
    const login = loginOf(devices[1]!);
    assert.deepEqual(loginOf(devices[1]!), login, 'a reconnect presents the same token');
    assert.equal(login.clientId, 'bench-sas-7-1');
    assert.equal(login.username, `${BENCH_IOT_HUB}/bench-sas-7-1/?api-version=2021-04-12`);
    const parsed = parseSasToken(login.password);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    assert.deepEqual(parsed.token.deviceIds, ['bench-sas-7-1']);
    assert.equal(parsed.token.hostname, BENCH_IOT_HUB);

    registerIdentities(dataDir, devices);
    const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: BENCH_EDGE_DEVICE });
    assert.equal(registry.size, 3);
    assert.equal(registry.get('bench-sas-7-2')?.parentDeviceId, BENCH_EDGE_DEVICE);
  });
});

describe('mqtt-auth-storm against Outpost', { timeout: 120_000 }, () => {
  it('the hub accepts every registered device with its token and refuses a wrong signature', async () => {
    const devices = benchDevices(11, 12);
    const target = await startTarget('outpost', {
      outpostSetup: (dataDir) => {
        registerIdentities(dataDir, devices);
        return BENCH_HUB_ARGS;
      },
    });
    try {
      const logins = devices.map((d) => loginOf(d));
      const good = await StormLoad.start(target, 'c', { clients: logins.length, processes: 2, concurrencyPerProcess: 4, keepAliveSec: 60, clientIdPrefix: 'x', seed: 1, logins, timeoutMs: 20_000 });
      try {
        const figures = await good.connect();
        assert.equal(figures.failed, 0, figures.firstError ?? '');
        assert.equal(figures.connected, logins.length);
      } finally {
        await good.disconnect();
      }
      // Fewer than the limiter's free failures, so nothing is delayed.
      const forged = logins.slice(0, 3).map((l) => ({ ...l, password: l.password.replace(/sig=[^&]{4}/, 'sig=AAAA') }));
      assert.ok(forged.every((f, i) => f.password !== logins[i]!.password));
      const bad = await StormLoad.start(target, 'node', { clients: forged.length, processes: 1, concurrencyPerProcess: 3, keepAliveSec: 60, clientIdPrefix: 'x', seed: 1, logins: forged, timeoutMs: 20_000 });
      try {
        const figures = await bad.connect();
        assert.equal(figures.connected, 0);
        assert.equal(figures.failed, forged.length);
        assert.match(figures.firstError ?? '', /CONNACK refused with return code 4/);
      } finally {
        await bad.disconnect();
      }
    } finally {
      await target.stop();
    }
  });

  it('a small run storms both ways, alternately, and reports both rates and their ratios', async () => {
    const r = await runOne(findScenario('mqtt-auth-storm')!, 'outpost', { quick: true, loadgen: 'c', seed: 5, clients: 40 }, {});
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.params['clients'], 40);
    assert.equal(r.throughput.unit, 'conn/s');
    const m = r.metrics;
    assert.ok(m['anonymousConnPerSec']! > 0 && m['sasConnPerSec']! > 0);
    assert.equal(m['sasConnPerSec'], r.throughput.value);
    assert.ok(Math.abs(m['throughputRatio']! - m['round1SasConnPerSec']! / m['round1AnonymousConnPerSec']!) < 1e-9);
    assert.ok(m['cpuPerConnRatio']! > 0 && m['sasCpuMicrosPerConn']! > 0);
    assert.ok(r.broker !== null && r.broker.cpuSec > 0);
    assertValidResult(r);
  });
});
