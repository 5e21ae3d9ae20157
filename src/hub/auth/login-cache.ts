/**
 * Whole logins that succeeded (client id, login key — the MQTT user name — and SAS token, exactly
 * as sent), in front of the token cache: a device that reconnects with what it sent last time is
 * known again from one map lookup, without its claim being read (the MQTT user name parsed),
 * looking it up in the registry or building a new identity. An entry is used only while its token is good and while the registry has not changed
 * at all since (`IdentityRegistry.changes`), so a key rotation, a disabled or removed identity takes
 * effect at the next connect. Bounded: when full, the oldest entry goes. Nothing here is logged.
 *
 * The identity of a hit is the same object each time, so what is derived from it (the
 * authorization policy's permissions) can be remembered per identity object as well.
 */
import { hash } from 'node:crypto';
import type { AuthResult } from './authenticator.js';

/**
 * SHA-256 of the login key (length first, so no two logins read alike) and the token's bytes (as
 * latin1: one character per byte), base64, in one call (`crypto.hash`, Node 20.12 and later:
 * package.json's engines). One 44-character string per device instead of copies of the token
 * (about 190 bytes in a pooled Buffer and the Buffer object, session 17) and of the user name
 * (about 90 bytes, session 18): issue 20's memory per idle device. About 0.7 µs per reconnect.
 */
function loginDigest(loginKey: string, token: Buffer): string {
  return hash('sha256', `${loginKey.length}:${loginKey}${token.toString('latin1')}`, 'base64');
}

type Success = Extract<AuthResult, { ok: true }>;

interface CachedLogin {
  /**
   * The digest of the login key and the token's bytes as the client sent them. Compared with `===`,
   * which stops at the first differing character: that tells a guesser how much of its own guess's
   * digest matches, and a digest's prefix does not lead back to the token.
   */
  readonly loginDigest: string;
  readonly result: Success;
  readonly registryChanges: number;
  readonly expiresAtMs: number;
}

export class LoginCache {
  /**
   * By client id (a string the connection holds anyway): no key is built. A hit compares the digest
   * of user name and token, which reads the token as a short-lived latin1 string for the hash.
   */
  private readonly entries = new Map<string, CachedLogin>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(clientId: string, loginKey: string, password: Buffer, registryChanges: number, nowMs: number): Success | undefined {
    const entry = this.entries.get(clientId);
    if (entry === undefined || entry.loginDigest !== loginDigest(loginKey, password)) return undefined;
    if (entry.registryChanges !== registryChanges || nowMs > entry.expiresAtMs) {
      this.entries.delete(clientId);
      return undefined;
    }
    return entry.result;
  }

  set(clientId: string, loginKey: string, password: Buffer, result: Success, registryChanges: number, expiresAtMs: number): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(clientId);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(clientId, { loginDigest: loginDigest(loginKey, password), result, registryChanges, expiresAtMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
