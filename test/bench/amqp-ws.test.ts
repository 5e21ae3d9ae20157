// The AMQP and WebSocket scenarios (issue 17) through the harness, in short windows, against a
// real Outpost hub and a real RabbitMQ: AMQP telemetry is settled accepted (Outpost: only once
// stored), module output routed over AMQP reaches the module input, MQTT over WebSocket carries
// the routed flow; and the generator's WebSocket deframer on frames cut anywhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { binaryFrameHeader, upgradeResponse, WsDeframer } from '../../bench/loadgen/ws-client.js';
import { findScenario, type ScenarioOptions } from '../../bench/scenarios/index.js';

const short: ScenarioOptions = { quick: true, loadgen: 'c', seed: 11, warmupSec: 0.5, durationSec: 1 };

/** An unmasked server frame (RFC 6455 5.2). */
function serverFrame(opcode: number, payload: Buffer): Buffer {
  const header = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

describe('ws-client', () => {
  it('deframes payloads in order however the bytes are cut, and reports a close', () => {
    const a = Buffer.alloc(300, 1);
    const b = Buffer.from('mqtt');
    const stream = Buffer.concat([serverFrame(2, a), serverFrame(2, b), serverFrame(8, Buffer.alloc(0))]);
    for (const cut of [1, 2, 3, 150, 303, 304, stream.length - 1]) {
      const out: Buffer[] = [];
      const controls: number[] = [];
      const deframer = new WsDeframer((p) => out.push(Buffer.from(p)), (op) => controls.push(op));
      deframer.push(stream.subarray(0, cut));
      deframer.push(stream.subarray(cut));
      assert.deepEqual(Buffer.concat(out), Buffer.concat([a, b]), `cut at ${cut}`);
      assert.deepEqual(controls, [8]);
    }
  });

  it('writes masked binary frame headers with the length in the right form', () => {
    assert.deepEqual([...binaryFrameHeader(5)], [0x82, 0x85, 0, 0, 0, 0]);
    assert.deepEqual([...binaryFrameHeader(300)], [0x82, 0x80 | 126, 1, 44, 0, 0, 0, 0]);
    assert.equal(binaryFrameHeader(70_000)[1], 0x80 | 127);
    assert.equal(upgradeResponse(Buffer.from('HTTP/1.1 101 Switching')), undefined);
    assert.deepEqual(upgradeResponse(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nxy')), { status: 101, rest: Buffer.from('xy') });
  });
});

describe('AMQP and WebSocket scenarios', { timeout: 180_000 }, () => {
  it('amqp-telemetry on outpost: transfers on one TLS connection are settled accepted', async () => {
    const r = await runOne(findScenario('amqp-telemetry')!, 'outpost', short, {});
    assert.equal(r.status, 'ok', r.error);
    assert.ok(r.metrics['ackedPerSec']! > 0);
    assert.equal(r.metrics['refusedTotal'], 0);
    assert.ok(r.latency !== null && r.latency.count > 0);
    assert.ok(r.broker !== null && r.broker.cpuSec > 0);
  });

  it('amqp-telemetry on rabbitmq: the AMQP 1.0 peer starts, accepts and stops', async () => {
    const r = await runOne(findScenario('amqp-telemetry')!, 'rabbitmq', short, {});
    assert.equal(r.status, 'ok', r.error);
    assert.ok(r.metrics['ackedPerSec']! > 0);
    assert.equal(r.metrics['refusedTotal'], 0);
    assert.ok(r.broker !== null && r.broker.cpuSec > 0);
  });

  it('amqp-routed: module output over AMQP is routed to the module input and delivered', async () => {
    const r = await runOne(findScenario('amqp-routed')!, 'outpost', short, {});
    assert.equal(r.status, 'ok', r.error);
    assert.ok(r.metrics['deliveredPerSec']! > 0 && r.metrics['ackedPerSec']! > 0);
    assert.equal(r.throughput.value, r.metrics['deliveredPerSec']);
    assert.ok(r.latency !== null && r.latency.count > 0 && r.latency.p50Micros <= r.latency.p99Micros);
    assert.equal(r.loadgen.processes, 5);
  });

  it('mqtt-routed-ws: the routed flow over MQTT over WebSocket is acknowledged and delivered', async () => {
    const r = await runOne(findScenario('mqtt-routed-ws')!, 'outpost', short, {});
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.params['transport'], 'mqtt-websocket-tls');
    assert.ok(r.metrics['ackedPerSec']! > 0 && r.metrics['deliveredPerSec']! > 0);
  });
});
