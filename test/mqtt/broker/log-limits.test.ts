// A flood of malformed packets costs a few log lines, not one per packet: mqtt.protocol_error is
// logged at most once per reason per interval, and the next line of that reason says how many
// were suppressed. The counters (metrics) still count every one.
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { RateLimitedLog } from '../../../src/log/index.js';
import { rawClient, startTestBroker, type TestBroker } from '../broker-harness.js';

const lines: Record<string, unknown>[] = [];
let broker: TestBroker;
before(async () => {
  broker = await startTestBroker({ logLines: lines });
});
after(() => broker.stop());

const CONNECT_V5 = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: '', clean: true, keepalive: 60 }, { protocolVersion: 5 });
const FIVE_BYTE_LENGTH = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
function truncatedProperty(): Buffer {
  const bytes = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('payload bytes'), qos: 0, dup: false, retain: false, properties: { contentType: 'MARKER' } }, { protocolVersion: 5 });
  bytes.writeUInt16BE(200, bytes.indexOf('MARKER') - 2);
  return bytes;
}

async function sendAndWaitForClose(...frames: Buffer[]): Promise<void> {
  const client = await rawClient(broker.port);
  for (const frame of frames) client.socket.write(frame);
  await Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('broker did not close the connection')), 5_000))]);
}

describe('log volume under a flood of bad packets', () => {
  it('logs one mqtt.protocol_error line per reason, whatever the number of offending connections', async () => {
    for (let i = 0; i < 25; i++) {
      await sendAndWaitForClose(CONNECT_V5, FIVE_BYTE_LENGTH);
      await sendAndWaitForClose(CONNECT_V5, truncatedProperty());
      await sendAndWaitForClose(Buffer.from([0xc0, 0x00])); // first packet not CONNECT
    }
    const logged = lines.filter((l) => l.event === 'mqtt.protocol_error');
    // Three reasons, 25 connections each, well inside one 10 s interval (two lines each if a slow run straddles one).
    assert.ok(logged.length >= 3 && logged.length <= 6, `${logged.length} lines: ${JSON.stringify(logged.map((l) => l.reason))}`);
    assert.ok(logged.every((l) => typeof l.remoteAddress === 'string'), 'each line still says where it came from');
    const counted = [...broker.adapter.protocolErrors.values()].reduce((a, b) => a + b, 0);
    assert.equal(counted, 75, 'the counters count every one');
  });

  it('a repeated line reports how many were suppressed since, per key, and keeps a bounded number of keys', () => {
    const out: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (out.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    const clock = { ms: 0 };
    const log = new RateLimitedLog(logger, 1_000, () => clock.ms, 3);
    for (let i = 0; i < 10; i++) log.info('a', { event: 'x' });
    log.warn('b', { event: 'y' });
    clock.ms = 1_000;
    log.info('a', { event: 'x' });
    assert.deepEqual(out.map((l) => [l.event, l.level, l.suppressed]), [['x', 30, undefined], ['y', 40, undefined], ['x', 30, 9]]);
    for (const key of ['c', 'd', 'e']) log.info(key, { event: key });
    clock.ms = 1_500;
    assert.equal(log.info('a', { event: 'x' }), true, 'key a was forgotten (bounded to 3 keys), so it logs again at once');
  });
});
