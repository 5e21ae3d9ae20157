/**
 * Maps configured TLS protocol names to Node's minVersion/maxVersion. Only TLS 1.2 and 1.3 are
 * offered: earlier versions are deprecated (RFC 8996) and OpenSSL 3 refuses them at its default
 * security level anyway.
 */
import { OutpostError } from '../errors/index.js';

export type TlsProtocol = 'tls1.2' | 'tls1.3';
/** The subset of node:tls SecureVersion we allow. */
export type TlsSecureVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsVersionRange {
  readonly minVersion: TlsSecureVersion;
  readonly maxVersion: TlsSecureVersion;
}

// Ordered oldest first, so the range is the first and last entry present.
const SECURE_VERSIONS: ReadonlyArray<readonly [TlsProtocol, TlsSecureVersion]> = [
  ['tls1.2', 'TLSv1.2'],
  ['tls1.3', 'TLSv1.3'],
];

/** The smallest version range holding every listed protocol. */
export function tlsVersionRange(protocols: readonly TlsProtocol[]): TlsVersionRange {
  for (const protocol of protocols) {
    if (!SECURE_VERSIONS.some(([name]) => name === protocol)) {
      throw new OutpostError('OUTPOST_INTERNAL', `tlsVersionRange: unsupported TLS protocol "${String(protocol)}"`, { details: { protocol } });
    }
  }
  const present = SECURE_VERSIONS.filter(([name]) => protocols.includes(name));
  const oldest = present[0];
  const newest = present[present.length - 1];
  // Configuration validation requires at least one protocol, so an empty list is a caller bug.
  if (oldest === undefined || newest === undefined) throw new OutpostError('OUTPOST_INTERNAL', 'tlsVersionRange: no TLS protocol given');
  return { minVersion: oldest[1], maxVersion: newest[1] };
}
