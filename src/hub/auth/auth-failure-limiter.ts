/**
 * Slows down repeated authentication failures from one remote address without touching anyone
 * else: after `freeFailures` failures within `windowMs`, every further attempt from that address
 * waits `baseDelayMs · 2^(n-1)` (capped at `maxDelayMs`) before it is answered, whether or not it
 * would succeed, so guessing gets slow and a guesser learns nothing faster by being right.
 * A success does not reset the count (one valid credential must not unlock guessing); quiet time
 * does. Bounded: the oldest addresses are forgotten first.
 */

export interface AuthFailureLimiterOptions {
  readonly freeFailures?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly windowMs?: number;
  readonly maxAddresses?: number;
  readonly now?: () => number;
}

interface Failures {
  count: number;
  lastMs: number;
}

export class AuthFailureLimiter {
  private readonly failures = new Map<string, Failures>();
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(options: AuthFailureLimiterOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** How long to hold the next attempt from `address` before answering it (0: not at all). */
  delayMs(address: string): number {
    // Nothing failed lately (the usual case, a reconnect storm of good clients): no lookup at all.
    if (this.failures.size === 0) return 0;
    const entry = this.current(address);
    if (entry === undefined || entry.count < this.freeFailures) return 0;
    const excess = entry.count - this.freeFailures;
    // 2^excess overflows to Infinity harmlessly; min() caps it.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** excess);
  }

  recordFailure(address: string): void {
    const entry = this.current(address);
    const nowMs = this.now();
    if (entry === undefined) {
      while (this.failures.size >= this.maxAddresses) this.failures.delete(this.failures.keys().next().value as string);
      this.failures.set(address, { count: 1, lastMs: nowMs });
    } else {
      entry.count++;
      entry.lastMs = nowMs;
      // Move to the end: the most recently failing addresses are the last forgotten.
      this.failures.delete(address);
      this.failures.set(address, entry);
    }
  }

  private current(address: string): Failures | undefined {
    const entry = this.failures.get(address);
    if (entry !== undefined && this.now() - entry.lastMs > this.windowMs) {
      this.failures.delete(address);
      return undefined;
    }
    return entry;
  }
}
