// mqtt-tls-storm in small: the C generator's TLS storm against a real Outpost hub and a real
// Mosquitto, each with its TLS listener. Every client of the second measured storm presents the
// session ticket it was handed and the broker resumes every one (counted by the generator from
// OpenSSL's SSL_session_reused), none of the first storm's does, and the result is valid.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { findScenario } from '../../bench/scenarios/index.js';
import { assertValidResult } from './result-file.js';

const CLIENTS = 30;

describe('mqtt-tls-storm', { timeout: 240_000 }, () => {
  for (const target of ['outpost', 'mosquitto']) {
    it(`against ${target}: full handshakes, then every client resumes with its ticket`, async () => {
      const r = await runOne(findScenario('mqtt-tls-storm')!, target, { quick: true, loadgen: 'c', seed: 9, clients: CLIENTS }, {});
      assert.equal(r.status, 'ok', r.error);
      assert.equal(r.throughput.unit, 'conn/s');
      const m = r.metrics;
      assert.equal(m['connected'], CLIENTS);
      assert.equal(m['fullHandshakesResumed'], 0, 'the full-handshake storm presented no session');
      assert.equal(m['resumedHandshakes'], CLIENTS, 'every reconnecting client resumed');
      assert.ok(m['resumedConnPerSec']! > 0 && r.throughput.value > 0);
      assertValidResult(r);
    });
  }
});
