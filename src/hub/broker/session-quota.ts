import type { Session } from './session.js';

/**
 * Persistent sessions counted per owner (`mqtt.maxSessionsPerIdentity`): anonymous clients could
 * otherwise leave any number of offline sessions, each with a queue. Only persistent sessions
 * count (a clean session ends with its connection, which the connection limit bounds); a session
 * is counted under the key its owner had when it was last counted, so it is uncounted exactly once.
 */
export class SessionQuota {
  private readonly perKey = new Map<string, number>();
  private readonly keyOf = new WeakMap<Session, string>();

  constructor(
    /** Sessions one owner key may hold; undefined: no bound. */
    private readonly max: number | undefined,
    /** The key of a session's (opaque) owner; undefined: not counted. */
    private readonly ownerKey: ((owner: unknown) => string | undefined) | undefined,
  ) {}

  /** Persistent sessions held under an owner key. */
  held(key: string): number {
    return this.perKey.get(key) ?? 0;
  }

  /**
   * True when opening a persistent session for `owner` under `clientId` would be one more than the
   * owner may hold; resuming or replacing a session of its own (`existing`) is not one more.
   */
  wouldExceed(existing: Session | undefined, expiryIntervalSec: number, owner: unknown): boolean {
    if (this.max === undefined || this.ownerKey === undefined || expiryIntervalSec <= 0) return false;
    const key = this.ownerKey(owner);
    if (key === undefined) return false;
    if (existing !== undefined && this.keyOf.get(existing) === key) return false;
    return this.held(key) >= this.max;
  }

  /** Counts (or recounts) a session after its owner or persistence may have changed. */
  count(session: Session): void {
    const key = session.persistent ? this.ownerKey?.(session.owner) : undefined;
    if (this.keyOf.get(session) === key) return;
    this.uncount(session);
    if (key === undefined) return;
    this.keyOf.set(session, key);
    this.perKey.set(key, this.held(key) + 1);
  }

  uncount(session: Session): void {
    const key = this.keyOf.get(session);
    if (key === undefined) return;
    this.keyOf.delete(session);
    const left = this.held(key) - 1;
    if (left <= 0) this.perKey.delete(key);
    else this.perKey.set(key, left);
  }
}
