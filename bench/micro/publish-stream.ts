// Inputs and stream helpers shared by the codec micro-benchmark: a fixed-seed MQTT 3.1.1 byte
// stream of PUBLISHes as a socket delivers it (chunks that split packets), and the ways of turning
// it back into packets that the benchmark compares.
import type { IPublishPacket, QoS } from 'mqtt-packet';
import { PacketFramer } from '../../src/hub/transport/mqtt/packet-framer.js';
import { decodePublish, encodePublishHeader } from '../../src/hub/transport/mqtt/publish-codec.js';
import { SCAN_HEADER, SCAN_OK, SCAN_STRIDE, scanOutput, type ScanPackets } from '../../src/native/index.js';
import { mulberry32, seededBytes } from '../loadgen/prng.js';

export const MAX_PACKET_BYTES = 268_435_455;
export const PROTOCOL_VERSION = 4;

export interface PublishInput {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly messageId: number;
}

/** `count` PUBLISHes: topics of 3-6 levels, 64-byte payloads and every 8th 1 KiB, 1 in 4 at QoS 1. */
export function makePublishes(seed: number, count: number): PublishInput[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => {
    const levels = 3 + Math.floor(next() * 4);
    const topic = ['plant-7', `line-${Math.floor(next() * 8)}`, ...Array.from({ length: levels - 2 }, () => `m${Math.floor(next() * 500)}`)].join('/');
    const qos: QoS = next() < 0.25 ? 1 : 0;
    return { topic, payload: seededBytes(seed + i, i % 8 === 7 ? 1024 : 64), qos, messageId: qos === 0 ? 0 : 1 + (i % 65_535) };
  });
}

export function encodeStream(publishes: readonly PublishInput[]): Buffer {
  return Buffer.concat(publishes.flatMap((p) => [encodePublishHeader(p.topic, p.payload.length, p.qos, false, false, p.messageId, PROTOCOL_VERSION), p.payload]));
}

/**
 * The stream as socket reads: `perChunk` whole packets per chunk (the broker scenarios' publishers
 * write 64 at a time, and on loopback a read mostly returns one write), each chunk its own
 * allocation. Packets split across reads cost both paths the same concat, so are left out.
 */
export function chunksOf(publishes: readonly PublishInput[], perChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < publishes.length; i += perChunk) chunks.push(encodeStream(publishes.slice(i, i + perChunk)));
  return chunks;
}

/** What the connection builds for a decoded PUBLISH (mqtt-connection.ts parse()). */
function publishPacket(topic: string, payload: Buffer, first: number, messageId: number): IPublishPacket {
  return { cmd: 'publish', topic, payload, qos: ((first >> 1) & 0x03) as QoS, dup: (first & 0x08) !== 0, retain: (first & 0x01) !== 0, messageId };
}

/** The hub's path today: PacketFramer then decodePublish, one packet at a time. Returns packets. */
export function decodeWithFramer(chunks: readonly Buffer[], visit: (packet: IPublishPacket) => void): number {
  const framer = new PacketFramer(MAX_PACKET_BYTES);
  let packets = 0;
  for (const chunk of chunks) {
    framer.push(chunk);
    for (;;) {
      const frame = framer.next();
      if (frame.kind !== 'packet') break;
      const fast = decodePublish(frame.packet, PROTOCOL_VERSION);
      if (fast === undefined) throw new Error('not a fast-path PUBLISH');
      visit({ cmd: 'publish', topic: fast.topic, payload: fast.payload, qos: fast.qos, dup: fast.dup, retain: fast.retain, messageId: fast.messageId });
      packets += 1;
    }
  }
  return packets;
}

/**
 * A whole chunk per scanPackets call: what a connection using the batch interface does. A packet
 * split across chunks is carried over (one concat), as PacketFramer does. With `visit` undefined
 * only the offsets are produced (the scan alone).
 */
export function decodeWithScanner(scan: ScanPackets, out: Int32Array, chunks: readonly Buffer[], visit: ((packet: IPublishPacket) => void) | undefined): number {
  const capacity = (out.length - SCAN_HEADER) / SCAN_STRIDE;
  let carry: Buffer | undefined;
  let packets = 0;
  for (const chunk of chunks) {
    const buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    let pos = 0;
    for (;;) {
      const n = scan(buf, pos, buf.length, MAX_PACKET_BYTES, PROTOCOL_VERSION, out);
      if (out[0] !== SCAN_OK) throw new Error(`scan status ${out[0]}`);
      if (visit !== undefined) {
        for (let i = 0; i < n; i++) {
          const base = SCAN_HEADER + SCAN_STRIDE * i;
          const topicStart = out[base + 2]!;
          if (topicStart < 0) throw new Error('not a fast-path PUBLISH');
          visit(publishPacket(buf.toString('utf8', topicStart, out[base + 3]!), buf.subarray(out[base + 4]!, out[base + 1]!), buf[out[base]!]!, out[base + 5]!));
        }
      }
      packets += n;
      pos = out[1]!;
      if (n < capacity) break;
    }
    carry = pos < buf.length ? buf.subarray(pos) : undefined;
  }
  return packets;
}

export { scanOutput };
