// idle-devices in small: 20 SAS devices per transport against a real Outpost hub (MQTT on plain
// TCP; MQTT and AMQP, each over TLS and over WebSocket) and a real Mosquitto (MQTT plain and over
// TLS). Every device's
// connection must be accepted (a refused one fails the run), all of them stay connected to the
// end, and each transport the target serves gets its per-device figure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { validateResultFile } from '../../bench/lib/result-schema.js';
import { findScenario } from '../../bench/scenarios/index.js';

const DEVICES = 20;
const FIGURES = ['mqttBytesPerDevice', 'mqttTlsBytesPerDevice', 'mqttWsBytesPerDevice', 'amqpTlsBytesPerDevice', 'amqpWsBytesPerDevice'];

describe('idle-devices', { timeout: 240_000 }, () => {
  for (const [target, served] of [
    ['outpost', FIGURES],
    ['mosquitto', ['mqttBytesPerDevice', 'mqttTlsBytesPerDevice']],
  ] as const) {
    it(`against ${target}: every device connects and stays, one figure per transport served`, async () => {
      const r = await runOne(findScenario('idle-devices')!, target, { quick: true, loadgen: 'c', seed: 11, clients: DEVICES }, {});
      assert.equal(r.status, 'ok', r.error);
      assert.deepEqual(r.warnings, []);
      assert.equal(r.metrics['connected'], DEVICES * served.length);
      for (const name of FIGURES) {
        const value = r.metrics[name];
        if ((served as readonly string[]).includes(name)) assert.ok(typeof value === 'number' && Number.isFinite(value), `${name}: ${String(value)}`);
        else assert.equal(value, null, `${name} is not served by ${target}`);
      }
      assert.equal(r.throughput.value, r.metrics['mqttTlsBytesPerDevice']);
      const file = {
        schemaVersion: 1 as const,
        startedAt: '',
        finishedAt: '',
        machine: { cpus: 2, cpuModel: 't', totalMemoryBytes: 1, node: process.version, os: 'linux' },
        options: { quick: true, loadgen: 'c' as const, seed: 11, scenarios: ['idle-devices'], targets: [target] },
        results: [r],
      };
      assert.deepEqual(validateResultFile(file), []);
    });
  }
});
