import { Packr } from 'msgpackr';
import { SystemProperty, type HubMessage } from '../message/index.js';

/**
 * HubMessage ⇄ bytes, for the trip to a shard worker and for the value stored in RocksDB. The
 * same bytes serve both: the main thread encodes a message once, the shard worker stores that
 * slice as it came (behind an entry header) and a read-back decodes it.
 *
 * Format 1, little-endian (written by encodeMessage):
 *
 *   u8 0x01 | f64 enqueuedAtMs | str source | u32 bodyLength, body
 *   | u32 n, n × (str key, value) application properties   (value: str, or u32 0xFFFFFFFF = null)
 *   | u32 n, n × (str key, str value) system properties
 *
 * where str is u32 UTF-8 byte length, bytes — or, for a property name of KNOWN_KEYS, the u32
 * 0x80000000 + its index there and no bytes. It replaced msgpackr on this path: the encoder was
 * a tenth of the hub's main-thread time in the durable routed scenario (docs/store.md). Values
 * written before it (msgpackr arrays, first byte 0x95) still decode, so an existing store keeps
 * its queued messages.
 *
 * Property maps are rebuilt as own data properties: plain assignment of a "__proto__" key would
 * set a prototype (hub-message.ts invariant: client-chosen names are only ever data).
 */

const FORMAT_1 = 0x01;
const MSGPACK_ARRAY_5 = 0x95;
const NULL_LENGTH = 0xffff_ffff;
const KNOWN_KEY = 0x8000_0000;
/**
 * Property names written as a number. Stored values refer to them by index: append only, never
 * reorder or remove.
 */
const KNOWN_KEYS: readonly string[] = [
  SystemProperty.MessageId,
  SystemProperty.CorrelationId,
  SystemProperty.To,
  SystemProperty.UserId,
  SystemProperty.ContentType,
  SystemProperty.ContentEncoding,
  SystemProperty.AbsoluteExpiryTime,
  SystemProperty.OutputName,
  SystemProperty.InputName,
  SystemProperty.MessageSchema,
  SystemProperty.CreationTime,
  SystemProperty.Operation,
  SystemProperty.InterfaceId,
  SystemProperty.ComponentName,
  SystemProperty.ModelId,
  SystemProperty.ConnectionDeviceId,
  SystemProperty.ConnectionModuleId,
  SystemProperty.EdgeMessageId,
  SystemProperty.EdgeHubOriginInterface,
  SystemProperty.EnqueuedTime,
  SystemProperty.MessageType,
];
const KNOWN_KEY_INDEX = new Map(KNOWN_KEYS.map((key, index) => [key, index]));
/** Strings shorter than this are written by a JavaScript loop (no native call). */
const SHORT_STRING = 16;
/** Worst-case bytes of a string: 3 UTF-8 bytes per UTF-16 unit, plus its length. */
const strBound = (text: string): number => 4 + 3 * text.length;

function mapBound(map: Readonly<Record<string, string | null>>): number {
  let bytes = 4;
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    const value = map[key];
    bytes += strBound(key) + (typeof value === 'string' ? strBound(value) : 4);
  }
  return bytes;
}

/** Buffer#utf8Write: Buffer#write without its argument checks (a tenth of this encoder's time). */
interface NativeWrite {
  utf8Write(text: string, offset: number): number;
}

/** Writes `text` at `at + 4` and its byte length at `at`; returns the offset after it. */
function writeStr(out: Buffer, at: number, text: string): number {
  const length = text.length;
  let pos = at + 4;
  if (length < SHORT_STRING) {
    let i = 0;
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      out[pos++] = c;
    }
    if (i < length) pos = at + 4 + (out as Buffer & NativeWrite).utf8Write(text, at + 4);
  } else {
    pos += (out as Buffer & NativeWrite).utf8Write(text, pos);
  }
  out.writeUInt32LE(pos - at - 4, at);
  return pos;
}

function writeMap(out: Buffer, at: number, map: Readonly<Record<string, string | null>>): number {
  const countAt = at;
  let pos = at + 4;
  let count = 0;
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    const value = map[key];
    const known = KNOWN_KEY_INDEX.get(key);
    if (known === undefined) pos = writeStr(out, pos, key);
    else {
      out.writeUInt32LE(KNOWN_KEY + known, pos);
      pos += 4;
    }
    if (typeof value === 'string') pos = writeStr(out, pos, value);
    else {
      out.writeUInt32LE(NULL_LENGTH, pos);
      pos += 4;
    }
    count++;
  }
  out.writeUInt32LE(count, countAt);
  return pos;
}

/** At least the bytes writeMessage needs for `message`. */
export function messageBound(message: HubMessage): number {
  return 1 + 8 + strBound(message.source) + 4 + message.body.byteLength + mapBound(message.properties) + mapBound(message.systemProperties);
}

/** Encodes `message` into `out` at `at` (room for messageBound bytes); returns where it ends. */
export function writeMessage(out: Buffer, at: number, message: HubMessage): number {
  const { source, body, properties, systemProperties } = message;
  out[at] = FORMAT_1;
  out.writeDoubleLE(message.enqueuedAtMs, at + 1);
  let pos = writeStr(out, at + 9, source);
  out.writeUInt32LE(body.byteLength, pos);
  out.set(body, pos + 4);
  pos = writeMap(out, pos + 4 + body.byteLength, properties);
  return writeMap(out, pos, systemProperties);
}

export function encodeMessage(message: HubMessage): Buffer {
  const out = Buffer.allocUnsafe(messageBound(message));
  return out.subarray(0, writeMessage(out, 0, message));
}

class Reader {
  pos: number;
  constructor(
    readonly bytes: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  u32(): number {
    if (this.pos + 4 > this.bytes.length) throw new RangeError('message truncated');
    const value = this.bytes.readUInt32LE(this.pos);
    this.pos += 4;
    return value;
  }

  str(length = this.u32()): string {
    const start = this.pos;
    const end = start + length;
    if (end > this.bytes.length) throw new RangeError('message truncated');
    this.pos = end;
    return this.bytes.toString('utf8', start, end);
  }

  key(): string {
    const length = this.u32();
    if (length < KNOWN_KEY) return this.str(length);
    const key = KNOWN_KEYS[length - KNOWN_KEY];
    if (key === undefined) throw new RangeError(`unknown property name ${length - KNOWN_KEY}`);
    return key;
  }

  map(allowNull: boolean): Record<string, string | null> {
    const map: Record<string, string | null> = {};
    const count = this.u32();
    for (let i = 0; i < count; i++) {
      const key = this.key();
      const length = this.u32();
      const value = allowNull && length === NULL_LENGTH ? null : this.str(length);
      if (key === '__proto__') Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
      else map[key] = value;
    }
    return map;
  }
}

export function decodeMessage(bytes: Uint8Array): HubMessage {
  if (bytes[0] === MSGPACK_ARRAY_5) return decodeMsgpack(bytes);
  if (bytes[0] !== FORMAT_1) throw new RangeError(`unknown message format ${bytes[0]}`);
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 9) throw new RangeError('message truncated');
  const enqueuedAtMs = buffer.readDoubleLE(1);
  const reader = new Reader(buffer, 9);
  const source = reader.str();
  const bodyLength = reader.u32();
  if (reader.pos + bodyLength > buffer.length) throw new RangeError('message truncated');
  const body = buffer.subarray(reader.pos, reader.pos + bodyLength);
  reader.pos += bodyLength;
  const properties = reader.map(true);
  const systemProperties = reader.map(false) as Record<string, string>;
  return { source, body, properties, systemProperties, enqueuedAtMs };
}

// The format before format 1: a msgpackr array [source, body, [k, v, …], [k, v, …], enqueuedAtMs].
type Flat = (string | null)[];
type Packed = [source: string, body: Uint8Array, properties: Flat, systemProperties: Flat, enqueuedAtMs: number];
let legacy: Packr | undefined;

function decodeMsgpack(bytes: Uint8Array): HubMessage {
  legacy ??= new Packr({ useRecords: false, moreTypes: false });
  const [source, body, properties, systemProperties, enqueuedAtMs] = legacy.unpack(bytes) as Packed;
  return { source, body, properties: rebuild(properties), systemProperties: rebuild(systemProperties) as Record<string, string>, enqueuedAtMs };
}

function rebuild(flat: Flat): Record<string, string | null> {
  const map: Record<string, string | null> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = String(flat[i]);
    const value = flat[i + 1] ?? null;
    if (key === '__proto__') Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
    else map[key] = value;
  }
  return map;
}

/** The format-0 encoding (msgpackr), kept for the compatibility test of stores written before format 1. */
export function encodeMessageMsgpack(message: HubMessage): Buffer {
  legacy ??= new Packr({ useRecords: false, moreTypes: false });
  const flat = (map: Readonly<Record<string, string | null>>): Flat => Object.keys(map).flatMap((k) => [k, map[k] ?? null]);
  return legacy.pack([message.source, message.body, flat(message.properties), flat(message.systemProperties), message.enqueuedAtMs]);
}
