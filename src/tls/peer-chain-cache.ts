/**
 * The client certificate chain of a resumed TLS session. A session ticket carries the client's
 * certificate (OpenSSL keeps the peer certificate in the session), but not the intermediate CA
 * certificates the client sent with it: on a resumed connection `getPeerCertificate(true)` answers
 * the leaf alone, and a device whose certificate an intermediate CA signed would fail X.509 CA
 * authentication on every reconnect that resumes.
 *
 * So the chain a leaf came with in its full handshake is remembered, by the leaf's SHA-256
 * fingerprint, and handed back on a resumed connection of the same leaf. This adds no trust:
 * intermediates are only hints for building the chain; the authenticator still checks every
 * signature up to a CA of tls.clientCaFile (src/hub/auth/x509-verifier.ts). Only chains longer
 * than the leaf are kept (a leaf a trusted CA signed directly needs nothing), the chain objects are
 * shared between leaves with the same issuer, and entries go after the ticket lifetime (no ticket
 * lives longer) or when `maxEntries` is reached, oldest first.
 *
 * The work is done where the adapter asks for the certificate (at CONNECT, or AMQP's SASL), not at
 * accept: a socket gets one shared function in place of its own getPeerCertificate.
 */
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';

interface Entry {
  readonly issuer: DetailedPeerCertificate;
  readonly storedAtMs: number;
}

const CACHE = Symbol('outpost.peerChainCache');
const ORIGINAL = Symbol('outpost.originalGetPeerCertificate');

type Wrapped = TLSSocket & {
  [CACHE]: PeerChainCache;
  [ORIGINAL]: TLSSocket['getPeerCertificate'];
};

export class PeerChainCache {
  private readonly entries = new Map<string, Entry>();
  /** One object per distinct issuer chain (by the first issuer's fingerprint), shared by leaves. */
  private readonly issuers = new Map<string, DetailedPeerCertificate>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Makes `socket.getPeerCertificate(true)` answer the remembered chain when its session resumed. */
  attach(socket: TLSSocket): void {
    const wrapped = socket as Wrapped;
    wrapped[CACHE] = this;
    wrapped[ORIGINAL] = socket.getPeerCertificate;
    socket.getPeerCertificate = getPeerCertificateWithChain as TLSSocket['getPeerCertificate'];
  }

  /** The leaf with its chain: from the handshake, remembered, or filled in from what was remembered. */
  complete(leaf: DetailedPeerCertificate, resumed: boolean): DetailedPeerCertificate {
    const fingerprint = leaf.fingerprint256;
    if (fingerprint === undefined || leaf.raw === undefined) return leaf;
    const issuer = leaf.issuerCertificate as DetailedPeerCertificate | undefined;
    const hasChain = issuer !== undefined && issuer !== leaf && issuer.raw !== undefined && !issuer.raw.equals(leaf.raw);
    if (hasChain && !resumed) {
      this.remember(fingerprint, issuer);
      return leaf;
    }
    if (hasChain || !resumed) return leaf;
    const entry = this.entries.get(fingerprint);
    if (entry === undefined || this.now() - entry.storedAtMs > this.ttlMs) return leaf;
    return { ...leaf, issuerCertificate: entry.issuer };
  }

  private remember(fingerprint: string, issuer: DetailedPeerCertificate): void {
    const issuerKey = issuer.fingerprint256;
    let shared = this.issuers.get(issuerKey);
    if (shared === undefined) {
      shared = issuer;
      this.issuers.set(issuerKey, issuer);
    }
    const nowMs = this.now();
    // Re-inserting moves the leaf to the newest end, so the oldest entries are always first.
    this.entries.delete(fingerprint);
    this.entries.set(fingerprint, { issuer: shared, storedAtMs: nowMs });
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && nowMs - entry.storedAtMs <= this.ttlMs) break;
      this.entries.delete(key);
    }
    if (this.issuers.size > this.maxEntries) this.pruneIssuers();
  }

  /** Drops issuer chains no entry uses any more. */
  private pruneIssuers(): void {
    const used = new Set<DetailedPeerCertificate>();
    for (const entry of this.entries.values()) used.add(entry.issuer);
    for (const [key, issuer] of this.issuers) if (!used.has(issuer)) this.issuers.delete(key);
  }
}

function getPeerCertificateWithChain(this: Wrapped, detailed?: boolean): PeerCertificate | DetailedPeerCertificate {
  const original = this[ORIGINAL];
  if (detailed !== true) return original.call(this, false);
  const leaf = original.call(this, true) as DetailedPeerCertificate;
  return this[CACHE].complete(leaf, this.isSessionReused());
}
