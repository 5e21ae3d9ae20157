/**
 * Fields of an existing certificate that Node's X509Certificate does not expose as bytes or
 * dates: the raw subject and issuer names, the subject key identifier and the validity period.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { OutpostError } from '../errors/index.js';
import { DerTag, derOid } from './der.js';
import { readDerChildren, readDerElement, type DerElement } from './der-reader.js';

export interface CertificateFields {
  /** The DER Name, exactly as encoded in the certificate. */
  readonly subjectNameDer: Buffer;
  readonly issuerNameDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The SubjectKeyIdentifier extension value, or null when the certificate has none. */
  readonly subjectKeyIdentifier: Buffer | null;
}

const VERSION_TAG = 0xa0; // [0] EXPLICIT Version, RFC 5280 4.1
const EXTENSIONS_TAG = 0xa3; // [3] EXPLICIT Extensions
const SUBJECT_KEY_IDENTIFIER_OID = derOid('2.5.29.14');

function child(children: readonly DerElement[], index: number, what: string): DerElement {
  const element = children[index];
  if (element === undefined) throw new OutpostError('OUTPOST_TLS_CERT_UNREADABLE', `certificate has no ${what}`);
  return element;
}

/** Reads the fields from a certificate (DER bytes or a parsed X509Certificate). */
export function readCertificateFields(certificate: Uint8Array | X509Certificate): CertificateFields {
  const der = certificate instanceof Uint8Array ? Buffer.from(certificate) : certificate.raw;
  const tbs = child(readDerChildren(readDerElement(der)), 0, 'tbsCertificate');
  const fields = readDerChildren(tbs);
  // Version is optional (absent means v1), so every later field shifts by one when present.
  const base = fields[0]?.identifier === VERSION_TAG ? 1 : 0;
  const issuer = child(fields, base + 2, 'issuer');
  const validity = readDerChildren(child(fields, base + 3, 'validity'));
  const subject = child(fields, base + 4, 'subject');
  const extensions = fields.slice(base + 6).find((field) => field.identifier === EXTENSIONS_TAG);
  return {
    subjectNameDer: Buffer.from(subject.encoded),
    issuerNameDer: Buffer.from(issuer.encoded),
    notBefore: readTime(child(validity, 0, 'notBefore')),
    notAfter: readTime(child(validity, 1, 'notAfter')),
    subjectKeyIdentifier: extensions === undefined ? null : findSubjectKeyIdentifier(extensions),
  };
}

function findSubjectKeyIdentifier(extensionsWrapper: DerElement): Buffer | null {
  const extensions = readDerChildren(child(readDerChildren(extensionsWrapper), 0, 'extension list'));
  for (const extension of extensions) {
    const parts = readDerChildren(extension);
    if (!parts[0]?.encoded.equals(SUBJECT_KEY_IDENTIFIER_OID)) continue;
    // extnValue is the last part (critical is optional); it wraps KeyIdentifier ::= OCTET STRING.
    const extnValue = child(parts, parts.length - 1, 'extension value');
    return Buffer.from(readDerElement(extnValue.content).content);
  }
  return null;
}

/** UTCTime or GeneralizedTime as DER allows them: UTC ("Z"), seconds present. */
function readTime(element: DerElement): Date {
  const text = element.content.toString('latin1');
  const utc = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  const generalized = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(text);
  let parts: number[];
  if (element.identifier === DerTag.UtcTime && utc !== null) {
    const yy = Number(utc[1]);
    // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, otherwise 20YY.
    parts = [yy >= 50 ? 1900 + yy : 2000 + yy, ...utc.slice(2, 7).map(Number)];
  } else if (element.identifier === DerTag.GeneralizedTime && generalized !== null) {
    parts = generalized.slice(1, 7).map(Number);
  } else {
    throw new OutpostError('OUTPOST_TLS_CERT_UNREADABLE', `certificate has an invalid time value "${text}"`);
  }
  const [year = 0, month = 1, day = 1, hours = 0, minutes = 0, seconds = 0] = parts;
  const date = new Date(0);
  // setUTCFullYear rather than Date.UTC so years 0..99 are not read as 1900..1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hours, minutes, seconds, 0);
  return date;
}

/**
 * Key identifier per RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value
 * (without tag, length and unused-bits octet). SHA-1 is what the RFC names; it is an identifier
 * here, not a security property.
 */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = readDerChildren(readDerElement(Buffer.from(spkiDer)));
  const publicKeyBits = child(spki, 1, 'subjectPublicKey');
  return createHash('sha1').update(publicKeyBits.content.subarray(1)).digest();
}
