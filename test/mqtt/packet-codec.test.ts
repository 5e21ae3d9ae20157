import assert from 'node:assert/strict';
import mqttPacket, { type IPublishPacket, type QoS } from 'mqtt-packet';
import { describe, it } from 'node:test';
import { PacketFramer } from '../../src/hub/transport/mqtt/packet-framer.js';
import { parsePacket } from '../../src/hub/transport/mqtt/packet-parser.js';
import { decodePublish, encodePublishHeader } from '../../src/hub/transport/mqtt/publish-codec.js';

/** Seeded PRNG (mulberry32) so a failure replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ALPHABET = 'abcxyz/_-0123456789éü€😀 ';
function randomPublish(random: () => number): IPublishPacket {
  const topicLength = 1 + Math.floor(random() * 40);
  const topic = Array.from({ length: topicLength }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
  const sizes = [0, 1, 100, 127, 128, 16_383, 16_384, 70_000];
  const payload = Buffer.alloc(sizes[Math.floor(random() * sizes.length)]!, Math.floor(random() * 256));
  const qos = Math.floor(random() * 3) as QoS;
  const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, dup: qos > 0 && random() < 0.3, retain: random() < 0.3 };
  if (qos > 0) packet.messageId = 1 + Math.floor(random() * 65_535);
  return packet;
}

describe('PUBLISH fast path agrees with mqtt-packet (the reference)', () => {
  it('decodes what mqtt-packet encodes, for 3.1.1 and 5.0, on random packets', () => {
    const random = prng(42);
    for (let i = 0; i < 2_000; i++) {
      const version = random() < 0.5 ? 4 : 5;
      const packet = randomPublish(random);
      const bytes = mqttPacket.generate(packet, { protocolVersion: version });
      const fast = decodePublish(bytes, version);
      const reference = parsePacket(bytes, version);
      assert.ok(fast !== undefined && reference.ok, `packet ${i}`);
      const ref = reference.packet as IPublishPacket;
      assert.equal(fast.topic, ref.topic);
      assert.equal(fast.qos, ref.qos);
      assert.equal(fast.dup, ref.dup);
      assert.equal(fast.retain, ref.retain);
      assert.equal(fast.messageId, ref.messageId ?? 0);
      assert.ok(Buffer.from(fast.payload).equals(Buffer.from(ref.payload)));
    }
  });

  it('leaves MQTT 5 PUBLISHes with properties to the general parser', () => {
    const bytes = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { contentType: 'a' } }, { protocolVersion: 5 });
    assert.equal(decodePublish(bytes, 5), undefined);
  });

  it('encodes byte-for-byte what mqtt-packet encodes', () => {
    const random = prng(7);
    for (let i = 0; i < 2_000; i++) {
      const version = random() < 0.5 ? 4 : 5;
      const packet = randomPublish(random);
      const payload = packet.payload as Buffer;
      const header = encodePublishHeader(packet.topic, payload.length, packet.qos, packet.dup, packet.retain, packet.messageId ?? 0, version);
      const reference = mqttPacket.generate(packet, { protocolVersion: version });
      assert.ok(Buffer.concat([header, payload]).equals(reference), `packet ${i}`);
    }
  });
});

describe('packet framing and the shared parser', () => {
  it('splits a stream cut at every possible point into the same packets', () => {
    const packets = [
      mqttPacket.generate({ cmd: 'pingreq' }),
      mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 1), qos: 1, messageId: 9, dup: false, retain: false }),
      mqttPacket.generate({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'x/#', qos: 1 }] }),
    ];
    const stream = Buffer.concat(packets);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new PacketFramer(1024);
      const out: Buffer[] = [];
      for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
        framer.push(part);
        for (let f = framer.next(); f.kind === 'packet'; f = framer.next()) out.push(Buffer.from(f.packet));
      }
      assert.deepEqual(out, packets, `cut at ${cut}`);
    }
  });

  it('refuses an oversized packet from its header and a 5-byte remaining length', () => {
    const big = new PacketFramer(100);
    big.push(Buffer.from([0x30, 0xe8, 0x07])); // remaining length 1000
    assert.deepEqual(big.next(), { kind: 'too-large', bytes: 1003 });
    const malformed = new PacketFramer(100);
    malformed.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.equal(malformed.next().kind, 'malformed');
  });

  it('parses a valid packet after a packet that failed half-way (regression found by fuzzing)', () => {
    const bad = Buffer.from('821a0005000004667a2f2302000d2473686172651a672f667a2f9b01', 'hex');
    assert.equal(parsePacket(bad, 4).ok, false);
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'x', clean: true, keepalive: 30 }, { protocolVersion: 5 });
    const result = parsePacket(connect, 4);
    assert.ok(result.ok);
    assert.equal(result.packet.cmd, 'connect');
    // And parsing a 3.1 CONNECT must not switch a shared parser's version for the next caller.
    const v3 = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'y', clean: true, keepalive: 30 });
    assert.ok(parsePacket(v3, 4).ok);
    const suback = mqttPacket.generate({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a', qos: 1, nl: true }] }, { protocolVersion: 5 });
    const parsed = parsePacket(suback, 5);
    assert.ok(parsed.ok);
  });

  it('decodes and encodes short acknowledgements exactly as mqtt-packet does', async () => {
    const { decodeShortAck, encodeShortAck } = await import('../../src/hub/transport/mqtt/publish-codec.js');
    for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
      for (const messageId of [1, 255, 256, 65_535]) {
        for (const version of [4, 5] as const) {
          const reference = mqttPacket.generate({ cmd, messageId, reasonCode: 0 }, { protocolVersion: version });
          assert.ok(encodeShortAck(cmd, messageId).equals(reference), `${cmd} ${messageId} v${version}`);
          assert.deepEqual(decodeShortAck(reference), { cmd, messageId });
        }
      }
    }
    // A PUBREL with wrong flags is left to the general parser, which rejects it.
    assert.equal(decodeShortAck(Buffer.from([0x60, 0x02, 0x00, 0x01])), undefined);
  });
});
