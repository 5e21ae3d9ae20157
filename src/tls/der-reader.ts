/**
 * A minimal DER reader: splits a buffer into TLVs so the builder can lift fields (subject name,
 * key identifier, validity) out of existing certificates byte for byte. Node's X509Certificate
 * only exposes names as text, and re-encoding text is not guaranteed to give the same bytes,
 * which chain building (RFC 5280 7.1 name matching) would then have to forgive.
 */
import { OutpostError } from '../errors/index.js';

export interface DerElement {
  /** The identifier octet (class, constructed bit, tag number). */
  readonly identifier: number;
  /** The whole TLV. */
  readonly encoded: Buffer;
  /** The value octets. */
  readonly content: Buffer;
}

const LONG_LENGTH_FLAG = 0x80;
const HIGH_TAG_NUMBER = 0x1f;
// Lengths up to 4 octets cover anything a certificate could hold; longer ones are corrupt data.
const MAX_LENGTH_OCTETS = 4;

function malformed(message: string, offset: number): OutpostError {
  return new OutpostError('OUTPOST_TLS_CERT_UNREADABLE', `malformed DER: ${message} at offset ${offset}`, { details: { offset } });
}

/** Reads the TLV starting at `offset`; `end` is the offset just past it. */
export function readDerElement(bytes: Buffer, offset = 0): DerElement & { readonly end: number } {
  const identifier = bytes[offset];
  if (identifier === undefined) throw malformed('unexpected end of data', offset);
  if ((identifier & HIGH_TAG_NUMBER) === HIGH_TAG_NUMBER) throw malformed('high tag numbers are not supported', offset);
  const first = bytes[offset + 1];
  if (first === undefined) throw malformed('missing length', offset);
  let length = first;
  let headerBytes = 2;
  if (first & LONG_LENGTH_FLAG) {
    const count = first & ~LONG_LENGTH_FLAG;
    // DER forbids the indefinite form (count 0), X.690 10.1.
    if (count === 0 || count > MAX_LENGTH_OCTETS) throw malformed('unsupported length form', offset);
    length = 0;
    for (let i = 0; i < count; i += 1) {
      const octet = bytes[offset + 2 + i];
      if (octet === undefined) throw malformed('truncated length', offset);
      length = length * 256 + octet;
    }
    headerBytes += count;
  }
  const end = offset + headerBytes + length;
  if (end > bytes.length) throw malformed('value runs past the end of data', offset);
  return {
    identifier,
    encoded: bytes.subarray(offset, end),
    content: bytes.subarray(offset + headerBytes, end),
    end,
  };
}

/** The TLVs inside a constructed element, in order. */
export function readDerChildren(element: DerElement): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = 0; offset < element.content.length; ) {
    const child = readDerElement(element.content, offset);
    children.push(child);
    offset = child.end;
  }
  return children;
}
