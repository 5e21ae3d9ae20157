/**
 * Verified SAS tokens, remembered until they expire so a reconnect storm costs a map lookup per
 * client instead of parsing and an HMAC. Keyed by the token text itself: hashing it first (SHA-256,
 * as this cache once did) cost a seventh of a cached SAS connect in the reconnect-storm benchmark
 * (docs/benchmarks.md), and it hid nothing a memory dump would not show anyway (the registry's
 * keys, which sign every token, live in the same heap). Nothing here is ever logged.
 *
 * An entry records which identity's key verified the token and that identity's registry
 * revision; the verifier uses it only while the revision is unchanged, so rotating keys or
 * disabling an identity takes effect at once. Bounded: when full, the oldest entry goes.
 */
import type { SasToken } from './sas-token.js';

export interface CachedToken {
  readonly token: SasToken;
  /** Registry key (`device` or `device/module`) of the identity whose key verified the token. */
  readonly signerKey: string;
  readonly revision: number;
  /** Expiry plus the allowed clock skew, in ms since the epoch. */
  readonly expiresAtMs: number;
}

export class TokenCache {
  private readonly entries = new Map<string, CachedToken>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number) {}

  static keyOf(tokenText: string): string {
    return tokenText;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowMs: number): CachedToken | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && nowMs > entry.expiresAtMs) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    if (entry === undefined) this.misses++;
    else this.hits++;
    return entry;
  }

  set(key: string, entry: CachedToken): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
