/**
 * A minimal ASN.1 DER encoder (ITU-T X.690), just enough to build X.509 certificates
 * (RFC 5280). Every function returns one complete TLV (tag, length, value) as a Buffer, so
 * encodings compose by nesting calls: `derSequence(derOid(...), derNull())`.
 *
 * Only the low-tag-number form (tag numbers 0..30) is supported: X.509 never needs more.
 */
import { OutpostError } from '../errors/index.js';

/** Universal tags (X.680 clause 8.6, table 1), with the constructed bit where the type requires it. */
export const DerTag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  ObjectIdentifier: 0x06,
  Utf8String: 0x0c,
  PrintableString: 0x13,
  Ia5String: 0x16,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  Sequence: 0x30,
  Set: 0x31,
} as const;

// Identifier octet layout (X.690 8.1.2): class in bits 8-7, constructed in bit 6, number in 5-1.
const CLASS_CONTEXT_SPECIFIC = 0x80;
const CLASS_MASK = 0xc0;
const CONSTRUCTED_BIT = 0x20;
const MAX_LOW_TAG_NUMBER = 30;
const LONG_LENGTH_FLAG = 0x80;
const MAX_SHORT_LENGTH = 0x7f;
// RFC 5280 4.1.2.5: UTCTime for 1950 through 2049, GeneralizedTime otherwise.
const UTC_TIME_FIRST_YEAR = 1950;
const UTC_TIME_LAST_YEAR = 2049;

function invalid(message: string, details: Record<string, unknown> = {}): OutpostError {
  return new OutpostError('OUTPOST_INTERNAL', `DER encoder: ${message}`, { details });
}

/** The length octets for a value of `lengthBytes` bytes (X.690 8.1.3, DER 10.1: minimal form). */
export function derLength(lengthBytes: number): Buffer {
  if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0) throw invalid('length must be a non-negative integer', { lengthBytes });
  if (lengthBytes <= MAX_SHORT_LENGTH) return Buffer.from([lengthBytes]);
  const octets: number[] = [];
  for (let rest = lengthBytes; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Buffer.from([LONG_LENGTH_FLAG | octets.length, ...octets]);
}

/** One TLV with the given identifier octet. */
export function derTlv(identifier: number, content: Uint8Array): Buffer {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xff || (identifier & 0x1f) > MAX_LOW_TAG_NUMBER) {
    throw invalid('identifier must be one octet in low-tag-number form', { identifier });
  }
  return Buffer.concat([Buffer.from([identifier]), derLength(content.length), content]);
}

export function derBoolean(value: boolean): Buffer {
  // DER 11.1: TRUE is all ones.
  return derTlv(DerTag.Boolean, Buffer.from([value ? 0xff : 0x00]));
}

export function derNull(): Buffer {
  return derTlv(DerTag.Null, Buffer.alloc(0));
}

/**
 * INTEGER in minimal two's complement (X.690 8.3). A Uint8Array is read as an unsigned big-endian
 * magnitude, which is how certificate serial numbers are usually held; a leading 0x00 is added
 * when its top bit is set so the value stays positive.
 */
export function derInteger(value: number | bigint | Uint8Array): Buffer {
  if (value instanceof Uint8Array) return derTlv(DerTag.Integer, unsignedMagnitude(value));
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw invalid('integer must be a safe integer', { value });
  return derTlv(DerTag.Integer, twosComplement(BigInt(value)));
}

function unsignedMagnitude(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = Buffer.from(bytes.subarray(start));
  if (trimmed.length === 0) return Buffer.from([0]);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

function twosComplement(value: bigint): Buffer {
  if (value >= 0n) {
    const hex = value.toString(16);
    return unsignedMagnitude(Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex'));
  }
  // Smallest byte count whose signed range holds the value, then encode value + 2^(8*count).
  let byteCount = 1;
  while (value < -(1n << BigInt(byteCount * 8 - 1))) byteCount += 1;
  const hex = (value + (1n << BigInt(byteCount * 8))).toString(16).padStart(byteCount * 2, '0');
  return Buffer.from(hex, 'hex');
}

/** OBJECT IDENTIFIER from dotted form (X.690 8.19); arcs may exceed 2^53 (e.g. 2.25.<uuid>). */
export function derOid(dotted: string): Buffer {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw invalid('object identifier must be dotted decimal', { oid: dotted });
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const first = arcs[0] ?? 0n;
  const second = arcs[1] ?? 0n;
  if (first < 2n && second >= 40n) throw invalid('second arc must be below 40 under arcs 0 and 1', { oid: dotted });
  const subidentifiers = [first * 40n + second, ...arcs.slice(2)];
  const octets: number[] = [];
  for (const subidentifier of subidentifiers) {
    // Base 128, most significant group first, bit 8 set on all but the last octet.
    const groups: number[] = [Number(subidentifier & 0x7fn)];
    for (let rest = subidentifier >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    octets.push(...groups);
  }
  return derTlv(DerTag.ObjectIdentifier, Buffer.from(octets));
}

/** BIT STRING (X.690 8.6); DER (11.2.1) requires the unused trailing bits to be zero. */
export function derBitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) throw invalid('unused bits must be 0..7', { unusedBits });
  const last = bytes[bytes.length - 1];
  if (last === undefined ? unusedBits !== 0 : (last & ((1 << unusedBits) - 1)) !== 0) {
    throw invalid('unused bits of a BIT STRING must be zero', { unusedBits });
  }
  return derTlv(DerTag.BitString, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A BIT STRING holding a named bit list such as KeyUsage: bit 0 is the most significant bit of
 * the first octet, and DER (X.690 11.2.2) drops trailing zero bits.
 */
export function derNamedBitString(bitIndexes: readonly number[]): Buffer {
  if (bitIndexes.length === 0) return derBitString(Buffer.alloc(0));
  for (const bit of bitIndexes) if (!Number.isInteger(bit) || bit < 0) throw invalid('bit index must be a non-negative integer', { bit });
  const highest = Math.max(...bitIndexes);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bitIndexes) bytes[Math.floor(bit / 8)] = (bytes[Math.floor(bit / 8)] ?? 0) | (0x80 >> bit % 8);
  return derBitString(bytes, 7 - (highest % 8));
}

export function derOctetString(bytes: Uint8Array): Buffer {
  return derTlv(DerTag.OctetString, bytes);
}

export function derUtf8String(text: string): Buffer {
  return derTlv(DerTag.Utf8String, Buffer.from(text, 'utf8'));
}

/** PrintableString (X.680 41.4): letters, digits, space and ' ( ) + , - . / : = ? only. */
export function derPrintableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw invalid('text has characters outside PrintableString', { text });
  return derTlv(DerTag.PrintableString, Buffer.from(text, 'latin1'));
}

/** IA5String: 7-bit ASCII. Internationalised DNS names must be converted to A-labels first. */
export function derIa5String(text: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(text)) throw invalid('text has characters outside IA5String (ASCII)', { text });
  return derTlv(DerTag.Ia5String, Buffer.from(text, 'latin1'));
}

function timeDigits(date: Date): { year: number; rest: string } {
  if (Number.isNaN(date.getTime())) throw invalid('date is not valid');
  const two = (n: number): string => String(n).padStart(2, '0');
  // Whole seconds: RFC 5280 4.1.2.5.1/4.1.2.5.2 forbid fractional seconds, so milliseconds are dropped.
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return { year: date.getUTCFullYear(), rest };
}

/** UTCTime YYMMDDHHMMSSZ (X.690 11.8), for years 1950..2049 as RFC 5280 reads two-digit years. */
export function derUtcTime(date: Date): Buffer {
  const { year, rest } = timeDigits(date);
  if (year < UTC_TIME_FIRST_YEAR || year > UTC_TIME_LAST_YEAR) throw invalid('UTCTime only holds years 1950..2049', { year });
  return derTlv(DerTag.UtcTime, Buffer.from(`${String(year % 100).padStart(2, '0')}${rest}`, 'latin1'));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (X.690 11.7), whole seconds. */
export function derGeneralizedTime(date: Date): Buffer {
  const { year, rest } = timeDigits(date);
  if (year < 0 || year > 9999) throw invalid('GeneralizedTime only holds years 0..9999', { year });
  return derTlv(DerTag.GeneralizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
}

/** X.509 Time (RFC 5280 4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050 (and before 1950). */
export function derTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= UTC_TIME_FIRST_YEAR && year <= UTC_TIME_LAST_YEAR ? derUtcTime(date) : derGeneralizedTime(date);
}

export function derSequence(...items: readonly Uint8Array[]): Buffer {
  return derTlv(DerTag.Sequence, Buffer.concat(items));
}

/** SET OF: DER (X.690 11.6) orders the element encodings as octet strings. */
export function derSetOf(...items: readonly Uint8Array[]): Buffer {
  const sorted = items.map((item) => Buffer.from(item)).sort(Buffer.compare);
  return derTlv(DerTag.Set, Buffer.concat(sorted));
}

/**
 * SET of distinct component types: DER (X.690 10.3, X.680 8.6) orders components by tag, class
 * first (universal, application, context, private), then tag number; the constructed bit plays
 * no part, which is why this is not the same order as derSetOf.
 */
export function derSet(...items: readonly Uint8Array[]): Buffer {
  const tagKey = (item: Uint8Array): number => {
    const identifier = item[0] ?? 0;
    return (identifier & CLASS_MASK) * 32 + (identifier & 0x1f);
  };
  const sorted = items.map((item) => Buffer.from(item)).sort((a, b) => tagKey(a) - tagKey(b));
  return derTlv(DerTag.Set, Buffer.concat(sorted));
}

function checkTagNumber(tagNumber: number): void {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER) {
    throw invalid('context tag number must be 0..30', { tagNumber });
  }
}

/** [n] EXPLICIT: a constructed context-specific TLV wrapping the whole inner encoding. */
export function derExplicit(tagNumber: number, inner: Uint8Array): Buffer {
  checkTagNumber(tagNumber);
  return derTlv(CLASS_CONTEXT_SPECIFIC | CONSTRUCTED_BIT | tagNumber, inner);
}

/**
 * [n] IMPLICIT: the encoding of `encoded` with its identifier octet replaced by a context-specific
 * one. The constructed bit is kept, so an implicitly tagged SEQUENCE stays constructed (X.690 8.14.4).
 */
export function derImplicit(tagNumber: number, encoded: Uint8Array): Buffer {
  checkTagNumber(tagNumber);
  const identifier = encoded[0];
  if (identifier === undefined || (identifier & 0x1f) > MAX_LOW_TAG_NUMBER) throw invalid('implicit tagging needs a low-tag-number TLV');
  const out = Buffer.from(encoded);
  out[0] = CLASS_CONTEXT_SPECIFIC | (identifier & CONSTRUCTED_BIT) | tagNumber;
  return out;
}
