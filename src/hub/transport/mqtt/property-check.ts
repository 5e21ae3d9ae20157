import { ReasonCode } from './reason-codes.js';

/**
 * Checks the MQTT 5 property sections of a whole packet (as framed) before mqtt-packet parses it.
 * mqtt-packet reads a property whose length runs past its section, or past the packet, as `null`
 * or a value borrowed from the payload and carries on: such a PUBLISH used to be accepted and
 * retained, reached MQTT 3.1.1 subscribers and failed to encode for every MQTT 5 one. Here each
 * section must lie inside the packet and each property inside its section (MQTT 5 section
 * 2.2.2.2: "a value not of the specified data type ... is a Malformed Packet"), and each
 * identifier must be defined for the packet type. Only packets the fast paths leave to the
 * general parser come here, so a PUBLISH without properties never does. Results, never throws.
 */

export interface PropertyDefect {
  readonly reason: string;
  /** MalformedPacket (0x81) for a length or type defect; ProtocolError (0x82) for a repeated or forbidden value. */
  readonly reasonCode: number;
}

const enum Type {
  Byte = 1,
  TwoByte,
  FourByte,
  VarInt,
  Utf8,
  Binary,
  Pair,
}

/** Where a property section sits; what is allowed differs (MQTT 5 section 2.2.2.2, table 2-4). */
const enum Where {
  Connect,
  Will,
  Connack,
  Publish,
  Ack,
  Subscribe,
  Suback,
  Unsubscribe,
  Unsuback,
  Disconnect,
  Auth,
}

const C = 1 << Where.Connect;
const W = 1 << Where.Will;
const CA = 1 << Where.Connack;
const P = 1 << Where.Publish;
const A = 1 << Where.Ack;
const S = 1 << Where.Subscribe;
const SA = 1 << Where.Suback;
const U = 1 << Where.Unsubscribe;
const UA = 1 << Where.Unsuback;
const D = 1 << Where.Disconnect;
const AU = 1 << Where.Auth;

interface PropertySpec {
  readonly name: string;
  readonly type: Type;
  /** Bit per `Where` the identifier may appear in. */
  readonly allowed: number;
  /** Bit per `Where` it may appear in more than once (otherwise a Protocol Error). */
  readonly repeatable: number;
  /** A Protocol Error when the value is 0 (Receive Maximum, Maximum Packet Size), or above 1 (the 0/1 flags). */
  readonly values?: 'non-zero' | 'flag';
}

/** By property identifier (every defined identifier is below 0x80, so one byte of its variable byte integer). */
const SPECS: readonly (PropertySpec | undefined)[] = (() => {
  const specs: (PropertySpec | undefined)[] = new Array<PropertySpec | undefined>(0x2b).fill(undefined);
  const define = (id: number, name: string, type: Type, allowed: number, extra: Partial<PropertySpec> = {}) => (specs[id] = { name, type, allowed, repeatable: 0, ...extra });
  define(0x01, 'payload format indicator', Type.Byte, P | W, { values: 'flag' });
  define(0x02, 'message expiry interval', Type.FourByte, P | W);
  define(0x03, 'content type', Type.Utf8, P | W);
  define(0x08, 'response topic', Type.Utf8, P | W);
  define(0x09, 'correlation data', Type.Binary, P | W);
  // Repeatable only server to client (a PUBLISH matching several subscriptions, MQTT-3.3.4-4).
  define(0x0b, 'subscription identifier', Type.VarInt, P | S, { repeatable: P });
  define(0x11, 'session expiry interval', Type.FourByte, C | CA | D);
  define(0x12, 'assigned client identifier', Type.Utf8, CA);
  define(0x13, 'server keep alive', Type.TwoByte, CA);
  define(0x15, 'authentication method', Type.Utf8, C | CA | AU);
  define(0x16, 'authentication data', Type.Binary, C | CA | AU);
  define(0x17, 'request problem information', Type.Byte, C, { values: 'flag' });
  define(0x18, 'will delay interval', Type.FourByte, W);
  define(0x19, 'request response information', Type.Byte, C, { values: 'flag' });
  define(0x1a, 'response information', Type.Utf8, CA);
  define(0x1c, 'server reference', Type.Utf8, CA | D);
  define(0x1f, 'reason string', Type.Utf8, CA | A | SA | UA | D | AU);
  define(0x21, 'receive maximum', Type.TwoByte, C | CA, { values: 'non-zero' });
  define(0x22, 'topic alias maximum', Type.TwoByte, C | CA);
  define(0x23, 'topic alias', Type.TwoByte, P);
  define(0x24, 'maximum QoS', Type.Byte, CA);
  define(0x25, 'retain available', Type.Byte, CA);
  define(0x26, 'user property', Type.Pair, C | W | CA | P | A | S | SA | U | UA | D | AU, { repeatable: C | W | CA | P | A | S | SA | U | UA | D | AU });
  define(0x27, 'maximum packet size', Type.FourByte, C | CA, { values: 'non-zero' });
  define(0x28, 'wildcard subscription available', Type.Byte, CA);
  define(0x29, 'subscription identifier available', Type.Byte, CA);
  define(0x2a, 'shared subscription available', Type.Byte, CA);
  return specs;
})();

const WHERE_NAMES = ['CONNECT', 'will', 'CONNACK', 'PUBLISH', 'acknowledgement', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'DISCONNECT', 'AUTH'] as const;

const malformed = (reason: string): PropertyDefect => ({ reason, reasonCode: ReasonCode.MalformedPacket });
const TRUNCATED_BEFORE = malformed('packet ends before its properties');

/**
 * The property defect of an MQTT 5 packet, or undefined when its properties are well-formed (or
 * it has none). A CONNECT is checked when its protocol level is 5, whatever `protocolVersion`
 * says (the connection learns its version from that CONNECT); other packets only when
 * `protocolVersion` is 5.
 */
export function checkProperties(packet: Buffer, protocolVersion: number): PropertyDefect | undefined {
  const type = packet[0]! >> 4;
  let at = 1;
  while (at < packet.length && (packet[at]! & 0x80) !== 0) at += 1;
  at += 1;
  const end = packet.length;
  if (type === 1) return checkConnect(packet, at, end);
  if (protocolVersion !== 5) return undefined;
  switch (type) {
    case 2: // CONNACK: flags, reason code, properties
      return at + 2 > end ? TRUNCATED_BEFORE : section(packet, at + 2, end, Where.Connack, true);
    case 3: {
      // PUBLISH: topic, packet id for QoS > 0, properties, payload
      const topicEnd = fieldEnd(packet, at, end);
      if (topicEnd < 0) return TRUNCATED_BEFORE;
      const propertiesAt = topicEnd + (((packet[0]! >> 1) & 0x03) > 0 ? 2 : 0);
      return propertiesAt >= end ? TRUNCATED_BEFORE : section(packet, propertiesAt, end, Where.Publish, false);
    }
    case 4:
    case 5:
    case 6:
    case 7: // PUBACK, PUBREC, PUBREL, PUBCOMP: packet id, then reason code and properties when present (MQTT-3.4.2-1)
      return end - at > 3 ? section(packet, at + 3, end, Where.Ack, true) : undefined;
    case 8:
    case 9:
    case 10:
    case 11: {
      const where = type === 8 ? Where.Subscribe : type === 9 ? Where.Suback : type === 10 ? Where.Unsubscribe : Where.Unsuback;
      return at + 2 >= end ? TRUNCATED_BEFORE : section(packet, at + 2, end, where, false);
    }
    case 14:
    case 15: // DISCONNECT, AUTH: reason code and properties when present
      return end - at > 1 ? section(packet, at + 1, end, type === 14 ? Where.Disconnect : Where.Auth, true) : undefined;
    default:
      return undefined;
  }
}

/** CONNECT: protocol name, level, flags, keep alive, properties; then client id and, with the will flag, the will properties. */
function checkConnect(packet: Buffer, at: number, end: number): PropertyDefect | undefined {
  const nameEnd = fieldEnd(packet, at, end);
  if (nameEnd < 0 || nameEnd + 4 > end) return undefined; // not a CONNECT the level can be read from: mqtt-packet names the error
  if (packet[nameEnd] !== 5) return undefined;
  const flags = packet[nameEnd + 1]!;
  const propertiesAt = nameEnd + 4;
  if (propertiesAt >= end) return TRUNCATED_BEFORE;
  const after = walk(packet, propertiesAt, end, Where.Connect);
  if (typeof after !== 'number') return after;
  if ((flags & 0x04) === 0) return undefined;
  const clientIdEnd = fieldEnd(packet, after, end);
  if (clientIdEnd < 0 || clientIdEnd >= end) return TRUNCATED_BEFORE;
  const willAfter = walk(packet, clientIdEnd, end, Where.Will);
  return typeof willAfter === 'number' ? undefined : willAfter;
}

/** One section at `at`; `last` when nothing may follow it (acknowledgements, DISCONNECT, AUTH, CONNACK). */
function section(packet: Buffer, at: number, end: number, where: Where, last: boolean): PropertyDefect | undefined {
  const after = walk(packet, at, end, where);
  if (typeof after !== 'number') return after;
  return last && after !== end ? malformed(`${end - after} bytes after the ${WHERE_NAMES[where]} properties`) : undefined;
}

/** Walks a property section (its length, then the properties); returns where it ends, or the defect. */
function walk(packet: Buffer, start: number, end: number, where: Where): number | PropertyDefect {
  let length = 0;
  let multiplier = 1;
  let at = start;
  for (;;) {
    if (at >= end) return TRUNCATED_BEFORE;
    const byte = packet[at++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    if (at - start >= 4) return malformed('property length longer than 4 bytes');
    multiplier *= 128;
  }
  const sectionEnd = at + length;
  if (sectionEnd > end) return malformed(`${WHERE_NAMES[where]} property length ${length} exceeds the packet`);
  const whereBit = 1 << where;
  // Identifiers seen so far, as bits (all are below 0x2b): no allocation.
  let seenLow = 0;
  let seenHigh = 0;
  while (at < sectionEnd) {
    const id = packet[at++]!;
    const spec = SPECS[id];
    if (spec === undefined) return malformed(`unknown property identifier 0x${id.toString(16)}`);
    if ((spec.allowed & whereBit) === 0) return malformed(`${spec.name} is not allowed in ${WHERE_NAMES[where]}`);
    if ((spec.repeatable & whereBit) === 0) {
      const bit = 1 << (id & 31);
      const seen = id < 32 ? seenLow : seenHigh;
      if ((seen & bit) !== 0) return { reason: `${spec.name} more than once`, reasonCode: ReasonCode.ProtocolError };
      if (id < 32) seenLow |= bit;
      else seenHigh |= bit;
    }
    let value = -1;
    switch (spec.type) {
      case Type.Byte:
        if (at + 1 > sectionEnd) return overrun(spec, where);
        value = packet[at]!;
        at += 1;
        break;
      case Type.TwoByte:
        if (at + 2 > sectionEnd) return overrun(spec, where);
        value = packet.readUInt16BE(at);
        at += 2;
        break;
      case Type.FourByte:
        if (at + 4 > sectionEnd) return overrun(spec, where);
        value = packet.readUInt32BE(at);
        at += 4;
        break;
      case Type.VarInt: {
        const begin = at;
        for (;;) {
          if (at >= sectionEnd) return overrun(spec, where);
          const byte = packet[at++]!;
          if ((byte & 0x80) === 0) break;
          if (at - begin >= 4) return malformed(`${spec.name} longer than 4 bytes`);
        }
        break;
      }
      case Type.Utf8:
      case Type.Binary:
        at = fieldEnd(packet, at, sectionEnd);
        if (at < 0) return overrun(spec, where);
        break;
      case Type.Pair:
        at = fieldEnd(packet, at, sectionEnd);
        if (at >= 0) at = fieldEnd(packet, at, sectionEnd);
        if (at < 0) return overrun(spec, where);
        break;
    }
    if (spec.values === 'non-zero' && value === 0) return { reason: `${spec.name} 0`, reasonCode: ReasonCode.ProtocolError };
    if (spec.values === 'flag' && value > 1) return { reason: `${spec.name} ${value}`, reasonCode: ReasonCode.ProtocolError };
  }
  return sectionEnd;
}

function overrun(spec: PropertySpec, where: Where): PropertyDefect {
  return malformed(`${spec.name} runs past the end of the ${WHERE_NAMES[where]} properties`);
}

/** Where a length-prefixed field at `at` ends, or -1 when it does not fit before `end`. */
function fieldEnd(packet: Buffer, at: number, end: number): number {
  if (at + 2 > end) return -1;
  const after = at + 2 + packet.readUInt16BE(at);
  return after > end ? -1 : after;
}
