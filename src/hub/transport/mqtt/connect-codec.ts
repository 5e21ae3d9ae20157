import type { IConnectPacket } from 'mqtt-packet';

/**
 * Hand-written CONNECT decoding for MQTT 3.1 and 3.1.1, and CONNACK encoding for them: a
 * reconnect storm is mostly CONNECT and CONNACK, and the general parser spends a buffer list, an
 * event and a copy per field on each. Anything unusual — MQTT 5, bridge mode, a flag combination
 * the specification forbids, a field that does not fit, bytes left over — returns `undefined`,
 * and the caller falls back to mqtt-packet, which stays the reference and names the error. What
 * this returns is what mqtt-packet returns for the same bytes (test/mqtt/packet-codec.test.ts
 * compares the two on random packets).
 */

const USERNAME = 0x80;
const PASSWORD = 0x40;
const WILL_RETAIN = 0x20;
const WILL_QOS = 0x18;
const WILL = 0x04;
const CLEAN = 0x02;
const RESERVED = 0x01;

/** Decodes a whole CONNECT (as framed); undefined when it needs the general parser. */
export function decodeConnect(packet: Buffer): IConnectPacket | undefined {
  if (packet[0] !== 0x10) return undefined;
  // Remaining length (the framer checked it; a buffer that disagrees goes to the reference).
  let length = 0;
  let multiplier = 1;
  let offset = 1;
  for (;;) {
    if (offset >= packet.length || offset > 4) return undefined;
    const byte = packet[offset++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  const end = packet.length;
  if (offset + length !== end) return undefined;
  // Protocol name: "MQTT" (3.1.1) or "MQIsdp" (3.1).
  if (offset + 2 > end) return undefined;
  const nameLength = packet.readUInt16BE(offset);
  offset += 2;
  let protocolId: 'MQTT' | 'MQIsdp';
  if (nameLength === 4 && packet.toString('latin1', offset, offset + 4) === 'MQTT') protocolId = 'MQTT';
  else if (nameLength === 6 && packet.toString('latin1', offset, offset + 6) === 'MQIsdp') protocolId = 'MQIsdp';
  else return undefined;
  offset += nameLength;
  if (offset + 4 > end) return undefined;
  const protocolVersion = packet[offset]!;
  if (protocolVersion !== 3 && protocolVersion !== 4) return undefined;
  const flags = packet[offset + 1]!;
  if ((flags & RESERVED) !== 0) return undefined;
  const hasWill = (flags & WILL) !== 0;
  if (!hasWill && (flags & (WILL_RETAIN | WILL_QOS)) !== 0) return undefined;
  const willQos = (flags & WILL_QOS) >> 3;
  if (willQos === 3) return undefined;
  const keepalive = packet.readUInt16BE(offset + 2);
  offset += 4;

  const clientIdEnd = fieldEnd(packet, offset, end);
  if (clientIdEnd < 0) return undefined;
  const clientId = packet.toString('utf8', offset + 2, clientIdEnd);
  offset = clientIdEnd;
  const result: IConnectPacket = {
    cmd: 'connect',
    retain: false,
    qos: 0,
    dup: false,
    length,
    topic: null,
    payload: null,
    protocolId,
    protocolVersion,
    clean: (flags & CLEAN) !== 0,
    keepalive,
    clientId,
  } as IConnectPacket;
  if (hasWill) {
    const topicEnd = fieldEnd(packet, offset, end);
    if (topicEnd < 0) return undefined;
    const topic = packet.toString('utf8', offset + 2, topicEnd);
    const payloadEnd = fieldEnd(packet, topicEnd, end);
    if (payloadEnd < 0) return undefined;
    // Copied: the will is kept until the client goes, the packet's buffer is not.
    const payload = Buffer.from(packet.subarray(topicEnd + 2, payloadEnd));
    offset = payloadEnd;
    result.will = { retain: (flags & WILL_RETAIN) !== 0, qos: willQos as 0 | 1 | 2, topic, payload };
  }
  if ((flags & USERNAME) !== 0) {
    const usernameEnd = fieldEnd(packet, offset, end);
    if (usernameEnd < 0) return undefined;
    result.username = packet.toString('utf8', offset + 2, usernameEnd);
    offset = usernameEnd;
  }
  if ((flags & PASSWORD) !== 0) {
    const passwordEnd = fieldEnd(packet, offset, end);
    if (passwordEnd < 0) return undefined;
    // A view: the password is only checked, never kept.
    result.password = packet.subarray(offset + 2, passwordEnd);
    offset = passwordEnd;
  }
  return offset === end ? result : undefined;
}

/** CONNACK for MQTT 3.1 and 3.1.1: four bytes. */
export function encodeConnack(sessionPresent: boolean, returnCode: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = 0x20;
  bytes[1] = 0x02;
  bytes[2] = sessionPresent ? 1 : 0;
  bytes[3] = returnCode;
  return bytes;
}

/**
 * Where a length-prefixed field (two bytes of length, then the bytes) that starts at `offset`
 * ends, or -1 when it does not fit before `end`. No object per field: a CONNECT has up to five.
 */
function fieldEnd(packet: Buffer, offset: number, end: number): number {
  if (offset + 2 > end) return -1;
  const after = offset + 2 + packet.readUInt16BE(offset);
  return after > end ? -1 : after;
}
