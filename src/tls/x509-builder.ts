/**
 * Issues X.509 v3 certificates (RFC 5280) with node:crypto keys and our DER encoder, so the
 * runtime needs no openssl binary to make its development CA, and tests can mint CA, server and
 * device client certificates.
 *
 * The builder signs what it is given: it does not check that the signing key belongs to the
 * issuer or that the issuer is a CA, so tests can deliberately make certificates that must fail
 * verification.
 */
import { createPublicKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { OutpostError } from '../errors/index.js';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derImplicit,
  derIa5String,
  derInteger,
  derNamedBitString,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSetOf,
  derTime,
  derUtf8String,
} from './der.js';
import { keyIdentifier, readCertificateFields } from './certificate-fields.js';
import { readDerElement } from './der-reader.js';
import { ipAddressBytes } from './ip-address-bytes.js';
import { derToPem } from './pem.js';

export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';

/** KeyUsage named bits, RFC 5280 4.2.1.3. */
export const KeyUsageBit = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsage = keyof typeof KeyUsageBit;

export interface CertificateSubject {
  readonly commonName: string;
  readonly organization?: string;
}

export interface SubjectAltNames {
  readonly dns?: readonly string[];
  /** IPv4 or IPv6 addresses in text form; encoded as 4 or 16 octets. */
  readonly ip?: readonly string[];
}

export interface IssueCertificateOptions {
  readonly subject: CertificateSubject;
  /** The certified key; a private KeyObject is accepted and its public half is used. */
  readonly publicKey: KeyObject;
  /** Private key that signs: EC (P-256/P-384/P-521), RSA (PKCS#1 v1.5) or Ed25519. */
  readonly signingKey: KeyObject;
  /** 'self' for a self-signed certificate, or the issuer certificate (PEM or parsed). */
  readonly issuer: 'self' | string | X509Certificate;
  /** Positive, at most 20 octets (RFC 5280 4.1.2.2). Default: 16 random octets. */
  readonly serialNumber?: Uint8Array | bigint;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa?: boolean;
  /** Only with isCa: how many intermediate CAs may follow this one. */
  readonly pathLenConstraint?: number;
  /** Default: digitalSignature, keyCertSign, cRLSign for a CA; digitalSignature (+ keyEncipherment for RSA) otherwise. */
  readonly keyUsage?: readonly KeyUsage[];
  /** Omitted from the certificate when empty or absent. */
  readonly extKeyUsage?: readonly ExtendedKeyUsage[];
  readonly subjectAltNames?: SubjectAltNames;
}

const Oid = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsaEncryption: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
} as const;

const X509_VERSION_3 = 2; // Version ::= INTEGER { v1(0), v2(1), v3(2) }
const DEFAULT_SERIAL_BYTES = 16;
const MAX_SERIAL_BYTES = 20;
// GeneralName CHOICE tags, RFC 5280 4.2.1.6.
const GENERAL_NAME_DNS = 2;
const GENERAL_NAME_IP = 7;
const AKI_KEY_IDENTIFIER = 0; // AuthorityKeyIdentifier keyIdentifier [0], RFC 5280 4.2.1.1

// ECDSA hash matched to curve strength (RFC 5480 4); node:crypto emits DER Ecdsa-Sig-Value by default.
const EC_HASH_BY_CURVE: Readonly<Record<string, { hash: string; oid: string }>> = {
  prime256v1: { hash: 'sha256', oid: Oid.ecdsaWithSha256 },
  secp384r1: { hash: 'sha384', oid: Oid.ecdsaWithSha384 },
  secp521r1: { hash: 'sha512', oid: Oid.ecdsaWithSha512 },
};

function invalid(message: string, details: Record<string, unknown> = {}): OutpostError {
  return new OutpostError('OUTPOST_INTERNAL', `issueCertificate: ${message}`, { details });
}

/** Issues a certificate and returns it as PEM. */
export function issueCertificate(options: IssueCertificateOptions): string {
  checkOptions(options);
  const publicKey = options.publicKey.type === 'private' ? createPublicKey(options.publicKey) : options.publicKey;
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const subjectKeyId = keyIdentifier(spkiDer);
  const subjectName = encodeName(options.subject);
  let issuerName = subjectName;
  let authorityKeyId: Buffer | null = subjectKeyId;
  if (options.issuer !== 'self') {
    const issuerCert = typeof options.issuer === 'string' ? new X509Certificate(options.issuer) : options.issuer;
    const fields = readCertificateFields(issuerCert);
    // Copy the issuer's subject bytes so name chaining (RFC 5280 6.1.3 (a)(4)) matches exactly.
    issuerName = fields.subjectNameDer;
    // An issuer without an SKI gets no AKI: a made-up key id could mislead path builders.
    authorityKeyId = fields.subjectKeyIdentifier;
  }
  const algorithm = signatureAlgorithm(options.signingKey);
  const tbs = derSequence(
    derExplicit(0, derInteger(X509_VERSION_3)),
    derInteger(options.serialNumber ?? defaultSerial()),
    algorithm.identifier,
    issuerName,
    derSequence(derTime(options.notBefore), derTime(options.notAfter)),
    subjectName,
    spkiDer,
    derExplicit(3, derSequence(...extensions(options, subjectKeyId, authorityKeyId))),
  );
  const signature = sign(algorithm.hash, tbs, options.signingKey);
  return derToPem('CERTIFICATE', derSequence(tbs, algorithm.identifier, derBitString(signature)));
}

function checkOptions(options: IssueCertificateOptions): void {
  if (options.subject.commonName === '') throw invalid('subject common name must not be empty');
  if (options.signingKey.type !== 'private') throw invalid('signing key must be a private key', { type: options.signingKey.type });
  if (!(options.notAfter.getTime() > options.notBefore.getTime())) {
    throw invalid('notAfter must be after notBefore', { notBefore: options.notBefore, notAfter: options.notAfter });
  }
  if (options.pathLenConstraint !== undefined) {
    if (options.isCa !== true) throw invalid('pathLenConstraint is only allowed on a CA certificate');
    if (!Number.isInteger(options.pathLenConstraint) || options.pathLenConstraint < 0) {
      throw invalid('pathLenConstraint must be a non-negative integer', { pathLenConstraint: options.pathLenConstraint });
    }
  }
  const serial = options.serialNumber;
  if (serial !== undefined) {
    const content = readDerElement(derInteger(serial)).content;
    const positive = typeof serial === 'bigint' ? serial > 0n : serial.some((octet) => octet !== 0);
    if (!positive || content.length > MAX_SERIAL_BYTES) throw invalid('serial number must be positive and at most 20 octets');
  }
}

function defaultSerial(): Buffer {
  const serial = randomBytes(DEFAULT_SERIAL_BYTES);
  // Top bit clear keeps it positive without a padding octet; the next bit set keeps it 16 octets.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return serial;
}

function encodeName(subject: CertificateSubject): Buffer {
  // RFC 5280 4.1.2.4: DirectoryString as UTF8String; most significant RDN (O) first.
  const rdn = (oid: string, value: string): Buffer => derSetOf(derSequence(derOid(oid), derUtf8String(value)));
  const rdns = subject.organization === undefined ? [] : [rdn(Oid.organizationName, subject.organization)];
  rdns.push(rdn(Oid.commonName, subject.commonName));
  return derSequence(...rdns);
}

function signatureAlgorithm(key: KeyObject): { identifier: Buffer; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const choice = EC_HASH_BY_CURVE[curve];
      if (choice === undefined) throw invalid('unsupported EC curve for the signing key', { curve });
      // RFC 5758 3.2: ecdsa-with-SHA* identifiers have absent parameters.
      return { identifier: derSequence(derOid(choice.oid)), hash: choice.hash };
    }
    case 'rsa':
      // RFC 4055 5: sha256WithRSAEncryption parameters are NULL.
      return { identifier: derSequence(derOid(Oid.sha256WithRsaEncryption), derNull()), hash: 'sha256' };
    case 'ed25519':
      // RFC 8410 3: parameters absent; Ed25519 hashes internally, so no digest is named.
      return { identifier: derSequence(derOid(Oid.ed25519)), hash: null };
    default:
      throw invalid('unsupported signing key type', { type: key.asymmetricKeyType });
  }
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  // critical is BOOLEAN DEFAULT FALSE, and DER omits default values (X.690 11.5).
  return critical ? derSequence(derOid(oid), derBoolean(true), derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}

function extensions(options: IssueCertificateOptions, subjectKeyId: Buffer, authorityKeyId: Buffer | null): Buffer[] {
  const isCa = options.isCa === true;
  const basicConstraints = isCa
    ? derSequence(derBoolean(true), ...(options.pathLenConstraint === undefined ? [] : [derInteger(options.pathLenConstraint)]))
    : derSequence(); // cA DEFAULT FALSE is omitted, leaving an empty SEQUENCE.
  const out = [
    extension(Oid.basicConstraints, true, basicConstraints),
    extension(Oid.keyUsage, true, derNamedBitString((options.keyUsage ?? defaultKeyUsage(options)).map((usage) => KeyUsageBit[usage]))),
  ];
  if (options.extKeyUsage !== undefined && options.extKeyUsage.length > 0) {
    out.push(extension(Oid.extKeyUsage, false, derSequence(...options.extKeyUsage.map((usage) => derOid(Oid[usage])))));
  }
  const altNames = encodeAltNames(options.subjectAltNames ?? {});
  // Non-critical is right because the subject is never empty (RFC 5280 4.2.1.6).
  if (altNames.length > 0) out.push(extension(Oid.subjectAltName, false, derSequence(...altNames)));
  out.push(extension(Oid.subjectKeyIdentifier, false, derOctetString(subjectKeyId)));
  if (authorityKeyId !== null) {
    out.push(extension(Oid.authorityKeyIdentifier, false, derSequence(derImplicit(AKI_KEY_IDENTIFIER, derOctetString(authorityKeyId)))));
  }
  return out;
}

function defaultKeyUsage(options: IssueCertificateOptions): KeyUsage[] {
  if (options.isCa === true) return ['digitalSignature', 'keyCertSign', 'cRLSign'];
  // TLS 1.2 RSA key transport needs keyEncipherment on RSA leaf keys; EC keys only sign (ECDHE).
  return options.publicKey.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}

function encodeAltNames(names: SubjectAltNames): Buffer[] {
  const dns = (names.dns ?? []).map((name) => {
    // IA5String holds ASCII only, so internationalised names go in as A-labels (RFC 5280 7.2).
    const ascii = /^[\x00-\x7f]*$/.test(name) ? name : domainToASCII(name);
    if (ascii === '') throw invalid('DNS name cannot be converted to ASCII', { name });
    return derImplicit(GENERAL_NAME_DNS, derIa5String(ascii));
  });
  const ip = (names.ip ?? []).map((address) => {
    const bytes = ipAddressBytes(address);
    if (bytes === null) throw invalid('not an IP address', { address });
    return derImplicit(GENERAL_NAME_IP, derOctetString(bytes));
  });
  return [...dns, ...ip];
}
