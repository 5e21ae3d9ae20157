import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { encodeConnect, encodePuback, encodePublishTemplate, encodeSubscribe, PacketScanner, PacketType, PINGREQ, DISCONNECT } from '../../bench/loadgen/mqtt-wire.js';
import { seededBytes } from '../../bench/loadgen/prng.js';

/** Parses bytes with mqtt-packet (the reference codec) into packets. */
function parseAll(bytes: Buffer): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => errors.push(e));
  parser.parse(bytes);
  assert.deepEqual(errors, []);
  return packets;
}

describe('load generator packets', () => {
  it('CONNECT, SUBSCRIBE, PUBACK, PINGREQ and DISCONNECT parse with mqtt-packet', () => {
    const [connect, subscribe, puback, ping, disconnect] = parseAll(
      Buffer.concat([encodeConnect('bench-client-1', 60), encodeSubscribe(1, 'bench/q0/+', 1), encodePuback(513), PINGREQ, DISCONNECT]),
    );
    assert.equal(connect?.cmd, 'connect');
    assert.equal((connect as mqttPacket.IConnectPacket).clientId, 'bench-client-1');
    assert.equal((connect as mqttPacket.IConnectPacket).keepalive, 60);
    assert.equal((connect as mqttPacket.IConnectPacket).clean, true);
    assert.equal((connect as mqttPacket.IConnectPacket).protocolVersion, 4);
    assert.deepEqual((subscribe as mqttPacket.ISubscribePacket).subscriptions, [{ topic: 'bench/q0/+', qos: 1 }]);
    assert.equal((puback as mqttPacket.IPubackPacket).messageId, 513);
    assert.equal(ping?.cmd, 'pingreq');
    assert.equal(disconnect?.cmd, 'disconnect');
  });

  it('CONNECT with a user name and password (a SAS token) parses with mqtt-packet', () => {
    const password = 'SharedAccessSignature sr=h%2Fdevices%2Fd1&sig=a%2Bb%3D&se=4102444800';
    const [connect] = parseAll(encodeConnect('d1', 60, { username: 'h/d1/?api-version=2021-04-12', password })) as mqttPacket.IConnectPacket[];
    assert.equal(connect?.clientId, 'd1');
    assert.equal(connect?.username, 'h/d1/?api-version=2021-04-12');
    assert.equal(connect?.password?.toString('utf8'), password);
    assert.equal(connect?.clean, true);
    assert.equal(connect?.keepalive, 60);
  });

  it('a PUBLISH template, patched as the publisher patches it, parses with its topic, id and payload', () => {
    for (const qos of [0, 1] as const) {
      const payload = seededBytes(3, 64);
      const t = encodePublishTemplate('bench/q1/7', qos, payload);
      const bytes = Buffer.from(t.bytes);
      if (qos === 1) bytes.writeUInt16BE(4242, t.packetIdOffset);
      bytes.writeDoubleBE(123_456_789, t.timestampOffset);
      const [p] = parseAll(bytes) as mqttPacket.IPublishPacket[];
      assert.equal(p?.topic, 'bench/q1/7');
      assert.equal(p?.qos, qos);
      if (qos === 1) assert.equal(p?.messageId, 4242);
      const got = p?.payload as Buffer;
      assert.equal(got.readDoubleBE(0), 123_456_789);
      assert.deepEqual(got.subarray(8), payload.subarray(8));
    }
  });

  it('the scanner finds the same packets however the stream is cut', () => {
    const t = encodePublishTemplate('a/b', 1, seededBytes(1, 300));
    const stream = Buffer.concat([encodePuback(1), t.bytes, PINGREQ, t.bytes, encodeSubscribe(9, 'x', 0)]);
    const expected = parseAll(stream).map((p) => p.cmd);
    for (const step of [1, 2, 3, 7, 64, stream.length]) {
      const seen: string[] = [];
      const names: Record<number, string> = { [PacketType.Puback]: 'puback', [PacketType.Publish]: 'publish', [PacketType.Pingreq]: 'pingreq', [PacketType.Subscribe]: 'subscribe' };
      const scanner = new PacketScanner((buf, start, type, _flags, bodyStart, end) => {
        assert.equal(end - start, parseLength(buf, start), 'packet length');
        assert.ok(bodyStart > start);
        seen.push(names[type] ?? String(type));
      });
      for (let at = 0; at < stream.length; at += step) scanner.push(stream.subarray(at, at + step));
      assert.deepEqual(seen, expected, `chunks of ${step}`);
    }
  });
});

/** Total length of the packet at `start`, from its fixed header. */
function parseLength(buf: Buffer, start: number): number {
  let remaining = 0;
  let multiplier = 1;
  let at = start + 1;
  for (;;) {
    const byte = buf[at++]!;
    remaining += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) break;
  }
  return at - start + remaining;
}
