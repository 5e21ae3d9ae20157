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
