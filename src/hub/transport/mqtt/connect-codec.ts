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

  const clientId = readString(packet, offset, end);
  if (clientId === undefined) return undefined;
  offset += 2 + clientId.bytes;
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
    clientId: clientId.text,
  } as IConnectPacket;
  if (hasWill) {
    const topic = readString(packet, offset, end);
    if (topic === undefined) return undefined;
    offset += 2 + topic.bytes;
    const payload = readBytes(packet, offset, end, true);
    if (payload === undefined) return undefined;
    offset += 2 + payload.length;
    result.will = { retain: (flags & WILL_RETAIN) !== 0, qos: willQos as 0 | 1 | 2, topic: topic.text, payload };
  }
  if ((flags & USERNAME) !== 0) {
    const username = readString(packet, offset, end);
    if (username === undefined) return undefined;
    offset += 2 + username.bytes;
    result.username = username.text;
  }
  if ((flags & PASSWORD) !== 0) {
    const password = readBytes(packet, offset, end, false);
    if (password === undefined) return undefined;
    offset += 2 + password.length;
    result.password = password;
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

function readString(packet: Buffer, offset: number, end: number): { text: string; bytes: number } | undefined {
  if (offset + 2 > end) return undefined;
  const bytes = packet.readUInt16BE(offset);
  if (offset + 2 + bytes > end) return undefined;
  return { text: packet.toString('utf8', offset + 2, offset + 2 + bytes), bytes };
}

/**
 * A field's bytes: copied when they outlive the read (a will payload is kept until the client
 * goes), a view when they do not (the password is only checked).
 */
function readBytes(packet: Buffer, offset: number, end: number, copy: boolean): Buffer | undefined {
  if (offset + 2 > end) return undefined;
  const bytes = packet.readUInt16BE(offset);
  if (offset + 2 + bytes > end) return undefined;
  const view = packet.subarray(offset + 2, offset + 2 + bytes);
  return copy ? Buffer.from(view) : view;
}
