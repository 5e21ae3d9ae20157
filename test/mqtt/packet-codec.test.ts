import assert from 'node:assert/strict';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type QoS } from 'mqtt-packet';
import { describe, it } from 'node:test';
import { decodeConnect, encodeConnack } from '../../src/hub/transport/mqtt/connect-codec.js';
import { PacketFramer } from '../../src/hub/transport/mqtt/packet-framer.js';
import { parsePacket } from '../../src/hub/transport/mqtt/packet-parser.js';
import { decodeEmptyPacket, decodePublish, encodePublishHeader } from '../../src/hub/transport/mqtt/publish-codec.js';

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

function randomText(random: () => number, maxLength: number): string {
  return Array.from({ length: Math.floor(random() * (maxLength + 1)) }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
}

function randomConnect(random: () => number): IConnectPacket {
  const version = random() < 0.2 ? 3 : 4;
  const packet: IConnectPacket = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: random() < 0.5,
    keepalive: Math.floor(random() * 65_536),
    clientId: randomText(random, 30),
  };
  if ((version === 3 || !packet.clean) && packet.clientId === '') packet.clientId = 'c'; // the encoder refuses these
  if (random() < 0.3) packet.will = { topic: randomText(random, 20) || 't', payload: Buffer.alloc(Math.floor(random() * 300), 7), qos: Math.floor(random() * 3) as QoS, retain: random() < 0.5 };
  if (random() < 0.7) packet.username = randomText(random, 80);
  if (packet.username !== undefined && random() < 0.8) packet.password = Buffer.from(randomText(random, 200));
  return packet;
}

/** The reference's packet as a plain object (it is a Packet instance; only the fields count). */
function referenceConnect(bytes: Buffer, version: 3 | 4 | 5): Record<string, unknown> | undefined {
  const reference = parsePacket(bytes, version);
  return reference.ok ? { ...reference.packet } : undefined;
}

describe('CONNECT and CONNACK fast paths agree with mqtt-packet (the reference)', () => {
  it('decodes what mqtt-packet encodes, for 3.1 and 3.1.1, on random packets', () => {
    const random = prng(11);
    for (let i = 0; i < 2_000; i++) {
      const packet = randomConnect(random);
      const bytes = mqttPacket.generate(packet);
      const fast = decodeConnect(bytes);
      assert.ok(fast !== undefined, `packet ${i}`);
      assert.deepEqual({ ...fast }, referenceConnect(bytes, packet.protocolVersion as 3 | 4), `packet ${i}`);
    }
  });

  it('on damaged packets, either leaves them to the reference or decodes exactly what it decodes', () => {
    const random = prng(12);
    let decoded = 0;
    for (let i = 0; i < 5_000; i++) {
      const good = mqttPacket.generate(randomConnect(random));
      const bytes = Buffer.from(good);
      const damage = Math.floor(random() * 3);
      if (damage === 0) bytes[2 + Math.floor(random() * (bytes.length - 2))] = Math.floor(random() * 256);
      else if (damage === 1) bytes[9 + Math.floor(random() * 2)]! ^= 1 << Math.floor(random() * 8); // the level or the flags
      else bytes.writeUInt16BE(Math.floor(random() * 300), 12 + Math.floor(random() * Math.max(1, bytes.length - 14)));
      const fast = decodeConnect(bytes);
      if (fast === undefined) continue;
      decoded++;
      assert.deepEqual({ ...fast }, referenceConnect(bytes, fast.protocolVersion as 3 | 4), `packet ${i}: ${bytes.toString('hex')}`);
    }
    assert.ok(decoded > 500, `only ${decoded} damaged packets were still decodable; the test lost its reach`);
  });

  it('leaves MQTT 5, bridge mode, forbidden flags and trailing bytes to the general parser', () => {
    const v5 = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'a' });
    assert.equal(decodeConnect(v5), undefined);
    const base = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'a' });
    assert.ok(decodeConnect(base) !== undefined);
    const bridge = Buffer.from(base);
    bridge[8] = 0x84;
    assert.equal(decodeConnect(bridge), undefined);
    const reserved = Buffer.from(base);
    reserved[9]! |= 0x01;
    assert.equal(decodeConnect(reserved), undefined);
    const willQosWithoutWill = Buffer.from(base);
    willQosWithoutWill[9]! |= 0x08;
    assert.equal(decodeConnect(willQosWithoutWill), undefined);
    const trailing = Buffer.concat([base, Buffer.from([0])]);
    trailing[1]! += 1;
    assert.equal(decodeConnect(trailing), undefined);
  });

  it('encodes CONNACK byte-for-byte as mqtt-packet does for 3.1.1', () => {
    for (const sessionPresent of [false, true]) {
      for (let returnCode = 0; returnCode <= 5; returnCode++) {
        assert.ok(encodeConnack(sessionPresent, returnCode).equals(mqttPacket.generate({ cmd: 'connack', sessionPresent, returnCode })));
      }
    }
  });
});

describe('PINGREQ and DISCONNECT fast path agrees with mqtt-packet', () => {
  it('decodes PINGREQ (every version) and a 3.1.1 DISCONNECT as the reference does, and leaves the rest to it', () => {
    for (const version of [3, 4, 5] as const) {
      for (const bytes of [[0xc0, 0x00], [0xe0, 0x00], [0xc1, 0x00], [0xe2, 0x00], [0xe0, 0x01, 0x00], [0xc0, 0x01, 0x00]]) {
        const packet = Buffer.from(bytes);
        const fast = decodeEmptyPacket(packet, version);
        const reference = parsePacket(packet, version);
        const expectFast = bytes.length === 2 && (bytes[0] === 0xc0 || (bytes[0] === 0xe0 && version !== 5));
        assert.equal(fast !== undefined, expectFast, `${Buffer.from(bytes).toString('hex')} v${version}`);
        if (fast === undefined) continue;
        assert.ok(reference.ok, 'the reference accepts what the fast path takes');
        const ref = reference.packet as { cmd: string; reasonCode?: number; properties?: unknown };
        assert.equal(fast.cmd, ref.cmd);
        assert.equal(ref.reasonCode, undefined);
        assert.equal(ref.properties, undefined);
      }
    }
  });

  it('PINGRESP is the two bytes mqtt-packet writes', () => {
    for (const version of [4, 5]) assert.deepEqual([...mqttPacket.generate({ cmd: 'pingresp' }, { protocolVersion: version })], [0xd0, 0x00]);
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

  it('frames a stream read in pieces of every size, a large packet among them, with empty reads', () => {
    const packets = [
      mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(70_000, 7), qos: 0, dup: false, retain: false }),
      mqttPacket.generate({ cmd: 'pingreq' }),
      mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(200, 2), qos: 1, messageId: 3, dup: false, retain: false }),
      mqttPacket.generate({ cmd: 'puback', messageId: 4 }),
    ];
    const stream = Buffer.concat(packets);
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (const maxPiece of [1, 3, 64, 5_000, 100_000]) {
      const framer = new PacketFramer(1 << 20);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const piece = stream.subarray(at, at + random(maxPiece + 1));
        at += piece.length;
        framer.push(piece);
        for (let f = framer.next(); f.kind === 'packet'; f = framer.next()) out.push(Buffer.from(f.packet));
      }
      assert.deepEqual(out, packets, `pieces of at most ${maxPiece} bytes`);
      assert.equal(framer.pendingBytes, 0);
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
