// idle-devices in small: 20 SAS devices per transport against a real Outpost hub (MQTT on plain
// TCP; MQTT and AMQP, each over TLS and over WebSocket) and a real Mosquitto (MQTT plain and over
// TLS) and the bare node-floor server (plain MQTT). Every device's connection must be accepted (a refused one fails the run) and all of them
// stay connected to the end; each transport the target serves gets its per-device figure, or a
// warning saying the hub gave memory back during its round (frequent with rounds this short).
// idle-devices-plain, the plain round alone, is run once against Outpost the same way.
// The judgement of the rounds is tested on its own with made-up readings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { findScenario } from '../../bench/scenarios/index.js';
import { GIVEN_BACK_BYTES, judgeRounds } from '../../bench/scenarios/idle-devices.js';
import { assertValidResult } from './result-file.js';

const DEVICES = 20;
const FIGURES: Record<string, string> = {
  mqttBytesPerDevice: 'mqtt',
  mqttTlsBytesPerDevice: 'mqttTls',
  mqttWsBytesPerDevice: 'mqttWs',
  amqpTlsBytesPerDevice: 'amqpTls',
  amqpWsBytesPerDevice: 'amqpWs',
};

describe('idle-devices', { timeout: 240_000 }, () => {
  for (const [target, served] of [
    ['outpost', Object.keys(FIGURES)],
    ['mosquitto', ['mqttBytesPerDevice', 'mqttTlsBytesPerDevice']],
    ['node-floor', ['mqttBytesPerDevice']],
  ] as const) {
    it(`against ${target}: every device connects and stays, one figure per transport served`, async () => {
      const r = await runOne(findScenario('idle-devices')!, target, { quick: true, loadgen: 'c', seed: 11, clients: DEVICES }, {});
      assert.equal(r.status, 'ok', r.error);
      // The plain MQTT round has four times the devices.
      assert.equal(r.metrics['connected'], DEVICES * (served.length + 3));
      for (const [name, transport] of Object.entries(FIGURES)) {
        const value = r.metrics[name];
        const explained = r.warnings.some((w) => w.startsWith(`${transport}: `));
        if (!(served as readonly string[]).includes(name)) assert.ok(value === null && !explained, `${name} is not served by ${target}`);
        else if (value === null) assert.ok(explained, `${name}: no figure and no warning (${r.warnings.join('; ')})`);
        else assert.ok(Number.isFinite(value) && !explained, `${name}: ${String(value)}`);
      }
      assert.equal(r.throughput.value, r.metrics['mqttBytesPerDevice'] ?? 0);
      assertValidResult(r);
    });
  }

  it('idle-devices-plain: the plain MQTT round alone, its devices all connected, no other transport measured', async () => {
    const r = await runOne(findScenario('idle-devices-plain')!, 'outpost', { quick: true, loadgen: 'c', seed: 12, clients: 4 * DEVICES }, {});
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.metrics['connected'], 4 * DEVICES);
    assert.equal(r.params['plainRoundFactor'], 1);
    assert.equal(r.metrics['mqttSettledBytesPerDevice'], null, 'the settled reading takes two minutes more: not with --quick');
    for (const name of Object.keys(FIGURES).filter((n) => n !== 'mqttBytesPerDevice')) assert.equal(r.metrics[name], null, name);
    const plain = r.metrics['mqttBytesPerDevice'];
    if (plain === null) assert.ok(r.warnings.some((w) => w.startsWith('mqtt: ')), `no figure and no warning (${r.warnings.join('; ')})`);
    else assert.ok(Number.isFinite(plain), String(plain));
    assertValidResult(r);
  });

  it('gives no figure for a round that gave memory back, nor for the round after it', () => {
    const MIB = 1024 * 1024;
    const round = (transport: string, grewMib: number, gaveBack = 0) => ({ transport, devices: transport === 'a' ? 4000 : 1000, before: 100 * MIB, after: (100 + grewMib) * MIB, gaveBackBytes: gaveBack });
    const judged = judgeRounds([round('a', 5), round('b', 1, GIVEN_BACK_BYTES + 1), round('c', 9), round('d', 20, GIVEN_BACK_BYTES), round('e', 3, 3 * MIB)]);
    assert.deepEqual([...judged.bytesPerDevice], [
      ['a', (5 * MIB) / 4000],
      ['d', (20 * MIB) / 1000],
    ]);
    assert.deepEqual(judged.warnings, [
      'b: the hub gave back 1.0 MiB during the round: no figure',
      'c: the round after one in which the hub gave memory back: no figure',
      'e: the hub gave back 3.0 MiB during the round: no figure',
    ]);
  });
});
