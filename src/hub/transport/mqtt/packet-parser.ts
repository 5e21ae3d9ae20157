import mqttPacket, { type Packet } from 'mqtt-packet';
import { checkProperties } from './property-check.js';

/**
 * mqtt-packet parsers, one per protocol version, shared by every connection. The framer always
 * hands over exactly one whole packet, so a parser holds no state between calls (it is reset
 * before each one, settings included) and a per-connection parser — an event emitter and a buffer list, allocated
 * twice per CONNECT — is pure overhead in a connection storm. Parsing is synchronous, so sharing
 * on one thread is safe.
 */

type Parser = ReturnType<typeof mqttPacket.parser> & { _resetState(): void; settings: { protocolVersion: number }; _pos: number };

let parsed: Packet | undefined;
let failure: Error | undefined;
const parsers = new Map<number, Parser>();

function parserFor(protocolVersion: number): Parser {
  let parser = parsers.get(protocolVersion);
  if (parser === undefined) {
    parser = mqttPacket.parser({ protocolVersion }) as Parser;
    parser.on('packet', (packet: Packet) => (parsed = packet));
    parser.on('error', (error: Error) => (failure = error));
    parsers.set(protocolVersion, parser);
  }
  return parser;
}

/** A failure's `reasonCode` is the MQTT 5 reason to disconnect with when it is not Malformed Packet (0x81). */
export type ParseResult = { ok: true; packet: Packet } | { ok: false; reason: string; reasonCode?: number };

/**
 * Parses one whole packet (as framed) for the given protocol version. MQTT 5 properties are
 * checked first (checkProperties): mqtt-packet accepts a property that claims more bytes than it
 * has.
 */
export function parsePacket(bytes: Buffer, protocolVersion: 3 | 4 | 5): ParseResult {
  if (protocolVersion === 5 || bytes[0]! >> 4 === 1) {
    const defect = checkProperties(bytes, protocolVersion);
    if (defect !== undefined) return { ok: false, reason: defect.reason, reasonCode: defect.reasonCode };
  }
  const parser = parserFor(protocolVersion);
  parser._resetState();
  // Parsing a CONNECT replaces the parser's settings with the packet (mqtt-packet switches version
  // that way); a shared parser must get its own settings back every time.
  parser.settings = { protocolVersion };
  // _resetState() leaves the read position of a packet that failed half-way; the next header would
  // be read from there (found by the fuzz test).
  parser._pos = 0;
  parsed = undefined;
  failure = undefined;
  parser.parse(bytes);
  const packet = parsed as Packet | undefined;
  const error = failure as Error | undefined;
  parsed = undefined;
  failure = undefined;
  if (error !== undefined) return { ok: false, reason: error.message };
  if (packet === undefined) return { ok: false, reason: 'incomplete packet' };
  return { ok: true, packet };
}
