// Hand-built MQTT 3.1.1 packets and a stream scanner for the load generator.
//
// The generator must be cheaper per message than the broker it measures, so it does not go through
// a general codec: publishers copy a pre-encoded batch and patch timestamps and packet ids in
// place, and subscribers scan the byte stream for packet boundaries without allocating per packet.
// test/bench/mqtt-wire.test.ts checks every encoder against mqtt-packet's parser.

/** Control packet types (MQTT 3.1.1 section 2.2.1), shifted into the high nibble of byte 1. */
export const PacketType = {
  Connect: 1,
  Connack: 2,
  Publish: 3,
  Puback: 4,
  Subscribe: 8,
  Suback: 9,
  Pingreq: 12,
  Pingresp: 13,
  Disconnect: 14,
} as const;

/** MQTT 3.1.1 protocol level in CONNECT (MQTT-3.1.2-2). */
const PROTOCOL_LEVEL_311 = 4;
const CONNECT_FLAG_CLEAN_SESSION = 0x02;
/** User Name and Password flags (MQTT-3.1.2-18, MQTT-3.1.2-19). */
const CONNECT_FLAG_PASSWORD = 0x40;
const CONNECT_FLAG_USERNAME = 0x80;
/** SUBSCRIBE has fixed-header flags 0b0010 (MQTT-3.8.1-1). */
const SUBSCRIBE_FLAGS = 0x02;

export const PINGREQ = Buffer.from([PacketType.Pingreq << 4, 0]);
export const DISCONNECT = Buffer.from([PacketType.Disconnect << 4, 0]);

/** Bytes taken by the Remaining Length varint (MQTT 3.1.1 section 2.2.3). */
export function varintBytes(value: number): number {
  if (value < 128) return 1;
  if (value < 16_384) return 2;
  if (value < 2_097_152) return 3;
  return 4;
}

function writeVarint(buf: Buffer, offset: number, value: number): number {
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    buf[offset++] = byte;
  } while (v > 0);
  return offset;
}

function packet(firstByte: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varintBytes(body.length) + body.length);
  out[0] = firstByte;
  const at = writeVarint(out, 1, body.length);
  body.copy(out, at);
  return out;
}

function utf8String(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

export interface ConnectCredentials {
  readonly username: string;
  readonly password: string;
}

/** CONNECT, MQTT 3.1.1, clean session; with a user name and password when `credentials` is given. */
export function encodeConnect(clientId: string, keepAliveSec: number, credentials?: ConnectCredentials): Buffer {
  const flags = CONNECT_FLAG_CLEAN_SESSION | (credentials === undefined ? 0 : CONNECT_FLAG_USERNAME | CONNECT_FLAG_PASSWORD);
  const header = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, PROTOCOL_LEVEL_311, flags, keepAliveSec >> 8, keepAliveSec & 0xff]);
  const fields = credentials === undefined ? [utf8String(clientId)] : [utf8String(clientId), utf8String(credentials.username), utf8String(credentials.password)];
  return packet(PacketType.Connect << 4, Buffer.concat([header, ...fields]));
}

export function encodeSubscribe(packetId: number, filter: string, qos: 0 | 1): Buffer {
  const id = Buffer.from([packetId >> 8, packetId & 0xff]);
  return packet((PacketType.Subscribe << 4) | SUBSCRIBE_FLAGS, Buffer.concat([id, utf8String(filter), Buffer.from([qos])]));
}

export function encodePuback(packetId: number): Buffer {
  return Buffer.from([PacketType.Puback << 4, 2, packetId >> 8, packetId & 0xff]);
}

/**
 * One pre-encoded PUBLISH and where to patch it. The payload starts with an 8-byte timestamp
 * (microseconds on the monotonic clock, float64 big-endian) followed by the publisher index
 * (uint32) and seeded filler, so the subscriber computes latency without allocating.
 */
export interface PublishTemplate {
  readonly bytes: Buffer;
  /** Offset of the packet id (QoS 1), or -1. */
  readonly packetIdOffset: number;
  /** Offset of the payload's timestamp. */
  readonly timestampOffset: number;
}

/** Smallest payload the scanner can read a timestamp and publisher index from. */
export const MIN_PAYLOAD_BYTES = 12;

export function encodePublishTemplate(topic: string, qos: 0 | 1, payload: Buffer): PublishTemplate {
  if (payload.length < MIN_PAYLOAD_BYTES) throw new Error(`payload must be at least ${MIN_PAYLOAD_BYTES} bytes`);
  const topicBytes = utf8String(topic);
  const idBytes = qos > 0 ? 2 : 0;
  const body = Buffer.alloc(topicBytes.length + idBytes + payload.length);
  topicBytes.copy(body, 0);
  payload.copy(body, topicBytes.length + idBytes);
  const bytes = packet((PacketType.Publish << 4) | (qos << 1), body);
  const headerBytes = bytes.length - body.length;
  return {
    bytes,
    packetIdOffset: qos > 0 ? headerBytes + topicBytes.length : -1,
    timestampOffset: headerBytes + topicBytes.length + idBytes,
  };
}

/** Receives each complete packet; `start` is the first byte of the fixed header. */
export type PacketVisitor = (buf: Buffer, start: number, type: number, flags: number, bodyStart: number, end: number) => void;

/**
 * Splits a TCP byte stream into MQTT packets. Keeps a partial packet between chunks; a chunk that
 * holds only whole packets (the usual case) is visited in place without copying.
 */
export class PacketScanner {
  private pending: Buffer | null = null;

  constructor(private readonly visit: PacketVisitor) {}

  push(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    const length = buf.length;
    let at = 0;
    while (at < length) {
      if (length - at < 2) break;
      let remaining = 0;
      let multiplier = 1;
      let p = at + 1;
      let complete = false;
      for (let i = 0; i < 4 && p < length; i++) {
        const byte = buf[p++] as number;
        remaining += (byte & 0x7f) * multiplier;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        multiplier *= 128;
      }
      if (!complete) {
        if (p - at > 4) throw new Error('malformed remaining length');
        break;
      }
      const end = p + remaining;
      if (end > length) break;
      const first = buf[at] as number;
      this.visit(buf, at, first >> 4, first & 0x0f, p, end);
      at = end;
    }
    if (at < length) this.pending = buf.subarray(at);
  }
}

/** Monotonic microseconds, comparable across processes on one machine (CLOCK_MONOTONIC). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
