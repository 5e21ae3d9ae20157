// scanPackets: the TypeScript reference does what PacketFramer + decodePublish (the hub's path)
// do, and the addon gives identical output to the reference, on random byte streams.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket, { type QoS } from 'mqtt-packet';
import { PacketFramer } from '../../src/hub/transport/mqtt/packet-framer.js';
import { decodePublish } from '../../src/hub/transport/mqtt/publish-codec.js';
import { SCAN_HEADER, SCAN_MALFORMED, SCAN_OK, SCAN_STRIDE, SCAN_TOO_LARGE, scanOutput, scanPacketsTs } from '../../src/native/index.js';
import { candidates, pick, prng } from './implementations.js';

const TOPIC_CHARS = 'ab/+#$é€😀 0';

function randomTopic(random: () => number): string {
  return Array.from({ length: Math.floor(random() * 12) }, () => pick(random, [...TOPIC_CHARS])).join('');
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return bytes;
}

/** One packet, well-formed or not, in any of the shapes the scanner must tell apart. */
function randomPacket(random: () => number): Buffer {
  const shape = Math.floor(random() * 10);
  const version = pick(random, [3, 4, 5] as const);
  switch (shape) {
    case 0:
    case 1:
    case 2: {
      const qos = Math.floor(random() * 3) as QoS;
      const properties = version === 5 && random() < 0.3 ? { contentType: 'x' } : undefined;
      const payload = Buffer.alloc(pick(random, [0, 1, 5, 120, 200, 20_000]), 7);
      const packet = mqttPacket.generate(
        { cmd: 'publish', topic: randomTopic(random) || 't', payload, qos, dup: random() < 0.2, retain: random() < 0.2, ...(qos > 0 ? { messageId: 1 + Math.floor(random() * 65_535) } : {}), ...(properties ? { properties } : {}) },
        { protocolVersion: version },
      );
      // Sometimes a truncated or over-long content type: the scanner must leave it to the checked parser.
      if (properties !== undefined && random() < 0.5) packet.writeUInt16BE(pick(random, [2, 9, 300, 0xffff]), packet.indexOf('x', 4) - 2);
      return packet;
    }
    case 3:
      return Buffer.from([0xc0, 0x00]);
    case 4:
      return Buffer.from([0x40, 0x02, Math.floor(random() * 256), Math.floor(random() * 256)]);
    case 5:
      return mqttPacket.generate({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'a/+', qos: 1 }] }, { protocolVersion: version });
    case 6: {
      // PUBLISH headers with short or inconsistent bodies (QoS 3, truncated topic or packet id, v5 property byte).
      const first = 0x30 | (Math.floor(random() * 4) << 1) | Math.floor(random() * 2) * 9;
      const body = Array.from({ length: Math.floor(random() * 6) }, () => pick(random, [0, 1, 2, 3, 0x61, 0xff]));
      return Buffer.from([first, ...varint(body.length), ...body]);
    }
    case 7:
      // Random bytes behind a random fixed header.
      return Buffer.from([Math.floor(random() * 256), ...varint(Math.floor(random() * 8)), ...Array.from({ length: Math.floor(random() * 8) }, () => Math.floor(random() * 256))]);
    case 8:
      // A remaining length longer than 4 bytes (MQTT-1.5.5), or a large declared length.
      return random() < 0.5 ? Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]) : Buffer.from([0x30, ...varint(Math.floor(random() * 300_000_000))]);
    default:
      return Buffer.from([0xe0, 0x00]);
  }
}

function randomStream(random: () => number): Buffer {
  const parts = Array.from({ length: 1 + Math.floor(random() * 30) }, () => randomPacket(random));
  const stream = Buffer.concat(parts);
  // Sometimes cut the last packet short, or prepend a few bytes to scan past.
  const cut = random() < 0.3 ? Math.floor(random() * Math.min(10, stream.length)) : 0;
  return stream.subarray(0, stream.length - cut);
}

describe('scanPackets reference agrees with PacketFramer + decodePublish', () => {
  it('same packets, same stop, same PUBLISH fields on 3,000 random streams', () => {
    const random = prng(8);
    for (let n = 0; n < 3_000; n++) {
      const stream = randomStream(random);
      const max = pick(random, [64, 1_000, 30_000, 268_435_460]);
      const version = pick(random, [3, 4, 5] as const);
      const framer = new PacketFramer(max);
      framer.push(stream);
      const out = scanOutput(100_000);
      const count = scanPacketsTs(stream, 0, stream.length, max, version, out);
      let i = 0;
      let consumed = 0;
      for (;;) {
        const frame = framer.next();
        const context = `stream ${n}, packet ${i}`;
        if (frame.kind !== 'packet') {
          assert.equal(count, i, context);
          assert.equal(out[1], consumed, context);
          if (frame.kind === 'need-more') assert.equal(out[0], SCAN_OK, context);
          if (frame.kind === 'malformed') assert.equal(out[0], SCAN_MALFORMED, context);
          if (frame.kind === 'too-large') assert.deepEqual([out[0], out[2]], [SCAN_TOO_LARGE, frame.bytes], context);
          break;
        }
        const base = SCAN_HEADER + SCAN_STRIDE * i;
        assert.deepEqual([out[base], out[base + 1]], [consumed, consumed + frame.packet.length], context);
        const publish = frame.packet[0]! >> 4 === 3 ? decodePublish(frame.packet, version) : undefined;
        if (publish === undefined) assert.equal(out[base + 2], -1, context);
        else {
          assert.equal(stream.toString('utf8', out[base + 2], out[base + 3]), publish.topic, context);
          assert.equal(out[base + 4], consumed + publish.payload.byteOffset - frame.packet.byteOffset, context);
          assert.equal(out[base + 5], publish.messageId, context);
        }
        consumed += frame.packet.length;
        i += 1;
      }
    }
  });

  it('refuses start/end outside the buffer', () => {
    assert.throws(() => scanPacketsTs(Buffer.alloc(4), 0, 5, 100, 4, scanOutput(1)), RangeError);
    assert.throws(() => scanPacketsTs(Buffer.alloc(4), 3, 2, 100, 4, scanOutput(1)), RangeError);
  });
});

for (const impl of candidates) {
  describe(`scanPackets: ${impl.implementation} gives the reference's output`, () => {
    it('identical output arrays on 20,000 random streams, windows, limits and capacities', () => {
      const random = prng(9);
      for (let n = 0; n < 20_000; n++) {
        const stream = randomStream(random);
        const start = random() < 0.7 ? 0 : Math.floor(random() * stream.length);
        const end = start + Math.floor(random() * (stream.length - start + 1));
        const max = pick(random, [2, 64, 1_000, 30_000, 268_435_460, Number.POSITIVE_INFINITY]);
        const version = pick(random, [3, 4, 5]);
        const capacity = pick(random, [0, 1, 3, 64]);
        // A view into a larger buffer, as socket chunks are (byteOffset != 0).
        const backing = Buffer.concat([Buffer.alloc(3), stream]);
        const view = backing.subarray(3);
        const expected = scanOutput(capacity).fill(-7);
        const actual = scanOutput(capacity).fill(-7);
        const a = scanPacketsTs(view, start, end, max, version, expected);
        const b = impl.scanPackets(view, start, end, max, version, actual);
        assert.equal(b, a, `stream ${n}: count`);
        assert.deepEqual(actual, expected, `stream ${n}`);
      }
    });

    it('refuses what the reference refuses', () => {
      assert.throws(() => impl.scanPackets(Buffer.alloc(4), 0, 5, 100, 4, scanOutput(1)), RangeError);
      assert.throws(() => impl.scanPackets(Buffer.alloc(4), 3, 2, 100, 4, scanOutput(1)), RangeError);
      assert.throws(() => impl.scanPackets(Buffer.alloc(4), 0, 4, 100, 4, new Int32Array(2)), RangeError);
    });
  });
}
