/**
 * Slows down guessing without slowing anyone whose credentials verify. What a guesser controls is
 * the identity it guesses and how many attempts it runs at once, so that is what is limited:
 *
 * - Failures are counted per identity and address. After `freeFailures` failures of one identity
 *   from one address within `windowMs`, each further failure of that pair is answered only after
 *   `baseDelayMs · 2^(n-1)` (capped at `maxDelayMs`). Other identities from the same address (the
 *   other modules on a gateway, other devices behind a NAT) are not affected.
 * - Each delayed failure holds one of its address's `maxHeldPerAddress` slots for its whole delay,
 *   even when the client hangs up first (so giving up early frees nothing). While an address holds
 *   them all, an attempt for an identity already being slowed from it is refused as busy without
 *   being checked (`admits`), so no answer, fast or slow, says anything about the guess: a guesser
 *   gets at most `maxHeldPerAddress` checks per `maxDelayMs` however many connections it opens.
 * - A success is answered at once and is never counted; it does not reset the count either (one
 *   valid credential must not unlock guessing another). Quiet time does.
 *
 * Bounded: at most `maxEntries` identity-address pairs are remembered (the oldest go first), and
 * an address holds an entry only while it has slots held.
 */

export interface AuthFailureLimiterOptions {
  readonly freeFailures?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly windowMs?: number;
  readonly maxEntries?: number;
  readonly maxHeldPerAddress?: number;
  readonly now?: () => number;
}

interface Failures {
  count: number;
  lastMs: number;
}

export class AuthFailureLimiter {
  /** By `address \n identity` (an address holds no newline; an identity may, harmlessly). */
  private readonly failures = new Map<string, Failures>();
  /** Slots held by delayed failures, by address; absent when none. */
  private readonly held = new Map<string, number>();
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly windowMs: number;
  private readonly maxEntries: number;
  readonly maxHeldPerAddress: number;
  private readonly now: () => number;

  constructor(options: AuthFailureLimiterOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxHeldPerAddress = options.maxHeldPerAddress ?? 4;
    this.now = options.now ?? Date.now;
  }

  /**
   * Whether an attempt for `identity` from `address` may be checked now. False only while the
   * address holds all its slots and this identity is being slowed from it. Nothing is looked up
   * while no address holds a slot (the usual case: a reconnect storm of good clients).
   */
  admits(address: string, identity: string): boolean {
    if (this.held.size === 0) return true;
    if ((this.held.get(address) ?? 0) < this.maxHeldPerAddress) return true;
    const entry = this.current(`${address}\n${identity}`);
    return entry === undefined || entry.count < this.freeFailures;
  }

  /**
   * Counts a failure of `identity` from `address` and returns how long to hold its answer (0: not
   * at all). A positive delay holds one of the address's slots until `release` is called for it.
   */
  recordFailure(address: string, identity: string): number {
    const key = `${address}\n${identity}`;
    const entry = this.current(key);
    const nowMs = this.now();
    let count = 1;
    if (entry === undefined) {
      while (this.failures.size >= this.maxEntries) this.failures.delete(this.failures.keys().next().value as string);
      this.failures.set(key, { count, lastMs: nowMs });
    } else {
      count = ++entry.count;
      entry.lastMs = nowMs;
      // Move to the end: the most recently failing pairs are the last forgotten.
      this.failures.delete(key);
      this.failures.set(key, entry);
    }
    if (count <= this.freeFailures) return 0;
    this.held.set(address, (this.held.get(address) ?? 0) + 1);
    // 2^excess overflows to Infinity harmlessly; min() caps it.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (count - this.freeFailures - 1));
  }

  /** A delayed failure's time is up: its slot is free again. */
  release(address: string): void {
    const held = (this.held.get(address) ?? 0) - 1;
    if (held > 0) this.held.set(address, held);
    else this.held.delete(address);
  }

  /** Slots `address` holds now (for tests and metrics). */
  heldBy(address: string): number {
    return this.held.get(address) ?? 0;
  }

  private current(key: string): Failures | undefined {
    const entry = this.failures.get(key);
    if (entry !== undefined && this.now() - entry.lastMs > this.windowMs) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }
}
