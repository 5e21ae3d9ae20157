/**
 * X.509 client authentication (the TLS handshake already proved the client holds the
 * certificate's private key; this decides whether the certificate speaks for the identity):
 *
 * - `selfSigned` identities: the certificate's SHA-1 or SHA-256 thumbprint equals the primary or
 *   secondary thumbprint in the registry (IoT Hub's rule; any issuer).
 * - `certificateAuthority` devices: the certificate chains, through intermediates the client sent,
 *   to a CA in `tls.clientCaFile`, every signature and validity period checks, every issuer is
 *   a CA, and the leaf's common name is the device id (its binding to the identity).
 *
 * Both: the leaf is within its validity period (with the clock skew), and if it restricts its
 * extended key usage, clientAuth is among them.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { splitPemCertificates } from '../../tls/index.js';
import type { AuthResult } from './authenticator.js';
import { authFailure, GENERIC_DETAIL, type AuthFailure } from './auth-failure.js';
import { identityKey } from './identity-record.js';
import type { IdentityRegistry } from './identity-registry.js';

export interface X509VerifierOptions {
  readonly registry: IdentityRegistry;
  /** Trusted CAs for `certificateAuthority` identities (the parsed tls.clientCaFile). */
  readonly trustedCas: readonly X509Certificate[];
  readonly clockSkewMs: number;
  readonly now: () => number;
}

const MAX_CHAIN_DEPTH = 6;
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE_OID = '2.5.29.37.0';

export class X509Verifier {
  constructor(private readonly options: X509VerifierOptions) {}

  /** Parses a PEM bundle of CA certificates (tls.clientCaFile). Throws on a certificate that does not parse. */
  static parseBundle(pem: string): X509Certificate[] {
    return splitPemCertificates(pem).map((text) => new X509Certificate(text));
  }

  verify(peer: PeerCertificate, deviceId: string, moduleId?: string): AuthResult {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(peer.raw);
    } catch {
      return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate cannot be parsed');
    }
    const key = identityKey(deviceId, moduleId);
    const target = this.options.registry.entry(deviceId, moduleId);
    if (target === undefined) return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', GENERIC_DETAIL, `${key} is not in the identity registry`);
    const device = moduleId === undefined ? target : this.options.registry.entry(deviceId);
    if (target.record.status !== 'enabled' || (device !== undefined && device.record.status !== 'enabled')) {
      return authFailure('OUTPOST_AUTH_IDENTITY_DISABLED', `${device?.record.status === 'disabled' ? deviceId : key} is disabled`);
    }
    const timeProblem = this.validityProblem(leaf, 'client certificate');
    if (timeProblem !== undefined) return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', timeProblem);
    const usage = leaf.keyUsage;
    if (usage !== undefined && usage.length > 0 && !usage.includes(CLIENT_AUTH_OID) && !usage.includes(ANY_EXTENDED_KEY_USAGE_OID)) {
      return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate is not for client authentication (extended key usage)');
    }

    const auth = target.record.authentication;
    if (auth.type === 'selfSigned') {
      const thumbprints = [auth.primaryThumbprint, auth.secondaryThumbprint].filter((t): t is string => t !== undefined);
      const sha1 = createHash('sha1').update(leaf.raw).digest('hex').toUpperCase();
      const sha256 = createHash('sha256').update(leaf.raw).digest('hex').toUpperCase();
      if (thumbprints.some((t) => t === sha1 || t === sha256)) return { ok: true, identity: identityOf(target.record.deviceId, target.record.moduleId, 'x509-thumbprint') };
      return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', GENERIC_DETAIL, `certificate thumbprint ${sha1} matches neither thumbprint of ${key}`);
    }
    if (auth.type === 'certificateAuthority') {
      const commonName = commonNameOf(leaf);
      if (commonName !== deviceId) {
        return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate common name (CN) is not the device id', `CN ${JSON.stringify(commonName ?? null)} presented for ${key}`);
      }
      const chainProblem = this.chainProblem(leaf, intermediatesOf(peer));
      return chainProblem === undefined ? { ok: true, identity: identityOf(target.record.deviceId, target.record.moduleId, 'x509-ca') } : chainProblem;
    }
    return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', `${key} does not authenticate with a certificate`, `${key} uses ${auth.type}`);
  }

  private chainProblem(leaf: X509Certificate, intermediates: readonly X509Certificate[]): AuthFailure | undefined {
    if (this.options.trustedCas.length === 0) {
      return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate is not from a trusted CA', 'no client CA is configured (tls.clientCaFile)');
    }
    let current = leaf;
    for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
      for (const anchor of this.options.trustedCas) {
        if (anchor.ca && issuedBy(current, anchor)) {
          const problem = this.validityProblem(anchor, 'trusted client CA');
          return problem === undefined ? undefined : authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate is not from a trusted CA', `${problem} (${anchor.subject.replace(/\n/g, ', ')})`);
        }
      }
      const next = intermediates.find((candidate) => candidate.ca && !candidate.raw.equals(current.raw) && issuedBy(current, candidate));
      if (next === undefined) return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate is not from a trusted CA', 'no chain to a CA in tls.clientCaFile');
      const problem = this.validityProblem(next, 'intermediate CA certificate');
      if (problem !== undefined) return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', problem);
      current = next;
    }
    return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'client certificate chain is too long');
  }

  private validityProblem(certificate: X509Certificate, what: string): string | undefined {
    const nowMs = this.options.now();
    const skew = this.options.clockSkewMs;
    if (nowMs + skew < Date.parse(certificate.validFrom)) return `${what} is not yet valid`;
    if (nowMs - skew > Date.parse(certificate.validTo)) return `${what} has expired`;
    return undefined;
  }
}

/**
 * Called with the registry's own id strings, as the SAS verifier does: the claimed ids are equal
 * to them but cut from the user name, which they would keep alive as long as the identity lives.
 */
function identityOf(deviceId: string, moduleId: string | undefined, authMethod: 'x509-thumbprint' | 'x509-ca'): Extract<AuthResult, { ok: true }>['identity'] {
  return moduleId === undefined ? { kind: 'device', deviceId, authMethod } : { kind: 'module', deviceId, moduleId, authMethod };
}

/** Issuer name matches and the signature verifies with the issuer's key. */
function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function commonNameOf(certificate: X509Certificate): string | undefined {
  for (const line of certificate.subject.split('\n')) if (line.startsWith('CN=')) return line.slice('CN='.length);
  return undefined;
}

/** The certificates the client sent after its leaf (Node links them through issuerCertificate). */
function intermediatesOf(peer: PeerCertificate): X509Certificate[] {
  const result: X509Certificate[] = [];
  let current = (peer as Partial<DetailedPeerCertificate>).issuerCertificate;
  let previous: PeerCertificate = peer;
  while (current !== undefined && current !== previous && current.raw !== undefined && result.length < MAX_CHAIN_DEPTH) {
    try {
      result.push(new X509Certificate(current.raw));
    } catch {
      break;
    }
    previous = current;
    current = (current as Partial<DetailedPeerCertificate>).issuerCertificate;
  }
  return result;
}
