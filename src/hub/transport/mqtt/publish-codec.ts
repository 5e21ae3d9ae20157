import type { QoS } from 'mqtt-packet';

/**
 * Hand-written PUBLISH decoding and encoding for the hot path: no intermediate buffer list, no
 * debug hooks, a zero-copy payload. Anything unusual (MQTT 5 properties) returns `undefined` from
 * the decoder or is not asked of the encoder, and the caller falls back to mqtt-packet, which
 * stays the reference. Results, never exceptions.
 */

export interface FastPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly dup: boolean;
  readonly retain: boolean;
  readonly messageId: number;
}

/** Decodes a whole PUBLISH packet (as framed); undefined when it needs the general parser. */
export function decodePublish(packet: Buffer, protocolVersion: 3 | 4 | 5): FastPublish | undefined {
  const first = packet[0]!;
  if (first >> 4 !== 3) return undefined;
  const qos = ((first >> 1) & 0x03) as QoS;
  if (qos === 3 as number) return undefined;
  let offset = 1;
  while ((packet[offset]! & 0x80) !== 0) offset += 1;
  offset += 1;
  if (offset + 2 > packet.length) return undefined;
  const topicLength = packet.readUInt16BE(offset);
  offset += 2;
  if (offset + topicLength > packet.length) return undefined;
  const topic = packet.toString('utf8', offset, offset + topicLength);
  offset += topicLength;
  let messageId = 0;
  if (qos > 0) {
    if (offset + 2 > packet.length) return undefined;
    messageId = packet.readUInt16BE(offset);
    offset += 2;
  }
  if (protocolVersion === 5) {
    // Only the common case here: an empty property set (a single 0x00 length byte).
    if (offset >= packet.length || packet[offset] !== 0) return undefined;
    offset += 1;
  }
  return { topic, payload: packet.subarray(offset), qos, dup: (first & 0x08) !== 0, retain: (first & 0x01) !== 0, messageId };
}

/**
 * Encodes the fixed header, topic and packet id of a PUBLISH without MQTT 5 properties (an empty
 * property set for version 5). The payload is written separately, so it is never copied.
 */
export function encodePublishHeader(topic: string, payloadBytes: number, qos: QoS, dup: boolean, retain: boolean, messageId: number, protocolVersion: 3 | 4 | 5): Buffer {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  const variable = 2 + topicBytes + (qos > 0 ? 2 : 0) + (protocolVersion === 5 ? 1 : 0);
  const remaining = variable + payloadBytes;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const header = Buffer.allocUnsafe(1 + lengthBytes + variable);
  header[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  let offset = 1;
  let value = remaining;
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value > 0) byte |= 0x80;
    header[offset++] = byte;
  } while (value > 0);
  header.writeUInt16BE(topicBytes, offset);
  offset += 2;
  offset += header.write(topic, offset, 'utf8');
  if (qos > 0) {
    header.writeUInt16BE(messageId, offset);
    offset += 2;
  }
  if (protocolVersion === 5) header[offset] = 0;
  return header;
}

const ACK_COMMANDS = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;
export type AckCommand = (typeof ACK_COMMANDS)[number];

/**
 * PUBACK, PUBREC, PUBREL and PUBCOMP in their 2-byte form (any version; in MQTT 5 the form that
 * omits reason code 0 and properties, MQTT-3.4.2-1). One per QoS 1 message each way, so worth
 * not building a packet object for.
 */
export function decodeShortAck(packet: Buffer): { cmd: AckCommand; messageId: number } | undefined {
  if (packet.length !== 4 || packet[1] !== 2) return undefined;
  const type = packet[0]! >> 4;
  if (type < 4 || type > 7) return undefined;
  // PUBREL's fixed-header flags must be 0b0010, the others' 0 (MQTT-2.2.2-1): else the general parser rejects it.
  if ((packet[0]! & 0x0f) !== (type === 6 ? 0x02 : 0)) return undefined;
  return { cmd: ACK_COMMANDS[type - 4]!, messageId: packet.readUInt16BE(2) };
}

export function encodeShortAck(cmd: AckCommand, messageId: number): Buffer {
  const type = ACK_COMMANDS.indexOf(cmd) + 4;
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = (type << 4) | (cmd === 'pubrel' ? 0x02 : 0);
  bytes[1] = 2;
  bytes.writeUInt16BE(messageId, 2);
  return bytes;
}

const PINGREQ: { readonly cmd: 'pingreq' } = Object.freeze({ cmd: 'pingreq' });
const DISCONNECT: { readonly cmd: 'disconnect' } = Object.freeze({ cmd: 'disconnect' });

/**
 * PINGREQ (any version) and an MQTT 3.1.1 DISCONNECT: two bytes each, and the general parser
 * spent a buffer list and a dozen debug calls on every one (a quarter of what a client costs in a
 * reconnect storm). The same object every time: readers only look at `cmd`. Anything else
 * (flags set, a length, an MQTT 5 DISCONNECT with its reason code) is undefined: the reference
 * parser's.
 */
export function decodeEmptyPacket(packet: Buffer, protocolVersion: 3 | 4 | 5): { readonly cmd: 'pingreq' | 'disconnect' } | undefined {
  if (packet.length !== 2 || packet[1] !== 0) return undefined;
  if (packet[0] === 0xc0) return PINGREQ;
  if (packet[0] === 0xe0 && protocolVersion !== 5) return DISCONNECT;
  return undefined;
}
