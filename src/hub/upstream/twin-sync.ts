import type { Logger } from '../../log/index.js';
import type { TwinProperties } from '../twin/index.js';

export interface TwinSyncOptions {
  /** Azure's MinTwinSyncPeriodSecs: the shortest time between two re-pulls of one twin on attach. */
  readonly minPeriodMs: number;
  /** How long a client's GET waits for the parent before the copy here answers. */
  readonly getTimeoutMs: number;
  /** Whether the connection to the parent is open now. */
  readonly connected: () => boolean;
  /** Whether this twin can be relayed at all (a key to sign for it here): if not, its GET does not wait for links that never come. */
  readonly canRelay: (twinId: string) => boolean;
  readonly logger: Logger;
  readonly now?: () => number;
  /** The first retry of a failed re-pull comes after this; each next one after twice the last, up to REPULL_RETRY_MAX_MS. */
  readonly repullRetryMs?: number;
}

/** A failed re-pull (no answer, or an error status) is tried again after 5 s, 10 s, … up to 5 min while the twin's relay stays. */
const REPULL_RETRY_FIRST_MS = 5_000;
const REPULL_RETRY_MAX_MS = 300_000;

/** An identity's twin at the parent, reachable now (the AMQP TwinRelay, the MQTT relay's twin). */
export interface SyncedTwin {
  /** GETs the parent's twin and mirrors its desired section here; false when that failed. */
  repull(): Promise<boolean>;
  /** The parent's desired section, or undefined when it does not answer within `timeoutMs`. */
  getDesired(timeoutMs: number): Promise<TwinProperties | undefined>;
}

type TwinRelay = SyncedTwin;
type Waiter = (relay: TwinRelay | undefined) => void;

/**
 * When the relay's twin links re-pull a twin from the parent, and a client's twin GET asked of the
 * parent (docs/upstream.md, "Twin GET and the re-pull").
 *
 * - Re-pull on attach, at most once per `minPeriodMs` per twin (Azure's `StoringTwinManager`
 *   rate-limits its reconnect re-sync per client the same way). An attach sooner than that does
 *   not GET; the re-pull is done when the period ends instead, if the links are still there (if
 *   not, the next attach is past the period and re-pulls). So a desired change missed during a
 *   short outage reaches a subscribed client at most `minPeriodMs` late, where Azure skips it until
 *   a later reconnect; and the client's own GET always asks the parent.
 * - A client's GET: the parent's desired section through the twin's links once they are ready
 *   (waiting for them while they attach), undefined when the link is down or no answer comes
 *   within `getTimeoutMs` (the twin service then answers from its copy).
 * - A re-pull that failed (`repullFailed`: the parent did not answer, or answered an error) is
 *   tried again after REPULL_RETRY_FIRST_MS, then twice as long each time up to
 *   REPULL_RETRY_MAX_MS, for as long as the same relay is the twin's: the copy here would
 *   otherwise stay stale until the next connection. A relay whose links are gone (AMQP drops them
 *   on a failed GET and re-attaches) is not retried: its next attach re-pulls.
 */
export class TwinSync {
  private readonly lastSyncMs = new Map<string, number>();
  private readonly deferred = new Map<string, NodeJS.Timeout>();
  private readonly current = new Map<string, TwinRelay>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly gapRepulls = new Map<string, { again: boolean }>();
  /** Per twin: the retry of a failed re-pull waiting, and the delay before the one after it. */
  private readonly retries = new Map<string, { timer: NodeJS.Timeout | undefined; nextMs: number }>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: TwinSyncOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether links attached now for `twinId` re-pull at once; if not, the re-pull is scheduled for the end of the period. */
  shouldRepull(twinId: string): boolean {
    const now = this.now();
    const last = this.lastSyncMs.get(twinId);
    if (last === undefined || now - last >= this.options.minPeriodMs) {
      this.lastSyncMs.set(twinId, now);
      this.cancelDeferred(twinId);
      return true;
    }
    if (!this.deferred.has(twinId)) {
      const inMs = last + this.options.minPeriodMs - now;
      const timer = setTimeout(() => this.deferredRepull(twinId), inMs);
      timer.unref();
      this.deferred.set(twinId, timer);
      this.options.logger.info({ event: 'upstream.twin_sync_deferred', twinId, inMs }, 'twin links attached again within upstream.minTwinSyncPeriod of the last re-pull; the re-pull waits for the end of the period');
    }
    return false;
  }

  /** `relay`'s links for `twinId` are attached and usable. */
  ready(twinId: string, relay: TwinRelay): void {
    this.current.set(twinId, relay);
    const waiting = this.waiters.get(twinId);
    this.waiters.delete(twinId);
    for (const waiter of waiting ?? []) waiter(relay);
  }

  /** `relay`'s links are gone. */
  gone(twinId: string, relay: TwinRelay): void {
    if (this.current.get(twinId) === relay) this.current.delete(twinId);
  }

  /** The parent's desired section of `twinId` for a client's GET; undefined: answer from the copy here. */
  async fetchDesired(twinId: string): Promise<TwinProperties | undefined> {
    if (!this.options.connected()) return this.fallback(twinId, 'disconnected');
    if (!this.options.canRelay(twinId)) return this.fallback(twinId, 'no_credentials');
    const startedMs = this.now();
    const relay = this.current.get(twinId) ?? (await this.waitReady(twinId, this.options.getTimeoutMs));
    if (relay === undefined) return this.fallback(twinId, 'not_attached');
    const leftMs = Math.max(1, this.options.getTimeoutMs - (this.now() - startedMs));
    const desired = await relay.getDesired(leftMs);
    return desired ?? this.fallback(twinId, 'no_answer');
  }

  /**
   * `relay`'s re-pull of `twinId` failed: tried again later while `relay` is the twin's (see the
   * class comment). A retry already waiting is kept.
   */
  repullFailed(twinId: string, relay: TwinRelay): void {
    if (this.closed) return;
    const retry = this.retries.get(twinId) ?? { timer: undefined, nextMs: this.options.repullRetryMs ?? REPULL_RETRY_FIRST_MS };
    this.retries.set(twinId, retry);
    if (retry.timer !== undefined) return;
    const inMs = retry.nextMs;
    retry.nextMs = Math.min(REPULL_RETRY_MAX_MS, inMs * 2);
    this.options.logger.warn({ event: 'upstream.twin_repull_failed', code: 'OUTPOST_UPSTREAM_TWIN_SYNC_FAILED', twinId, retryInMs: inMs }, 'the twin could not be pulled from the parent; the copy here stays until the retry');
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      if (this.current.get(twinId) !== relay) {
        this.retries.delete(twinId);
        return;
      }
      this.lastSyncMs.set(twinId, this.now());
      void relay
        .repull()
        .catch(() => false)
        .then((ok) => (ok ? this.repulled(twinId) : this.repullFailed(twinId, relay)));
    }, inMs);
    retry.timer.unref();
  }

  /** A re-pull of `twinId` worked: a retry waiting is not needed, and the next failure starts from the first delay. */
  private repulled(twinId: string): void {
    clearTimeout(this.retries.get(twinId)?.timer);
    this.retries.delete(twinId);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.deferred.values()) clearTimeout(timer);
    this.deferred.clear();
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    const waiting = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of waiting) for (const waiter of set) waiter(undefined);
  }

  /**
   * A desired patch from the parent did not follow the version here (one was missed): `relay`
   * re-pulls the whole section now, not rate-limited — something is known to be missing, and the
   * subscribed clients get the difference. One re-pull at a time per twin; patches out of order
   * while it runs ask for one more after it (the GET may have been answered before them).
   */
  outOfOrder(twinId: string, relay: TwinRelay): void {
    const running = this.gapRepulls.get(twinId);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const state = { again: true };
    this.gapRepulls.set(twinId, state);
    void (async () => {
      while (state.again) {
        state.again = false;
        this.lastSyncMs.set(twinId, this.now());
        this.cancelDeferred(twinId);
        if (!(await relay.repull().catch(() => false))) {
          this.repullFailed(twinId, relay);
          break;
        }
        this.repulled(twinId);
      }
    })().finally(() => this.gapRepulls.delete(twinId));
  }

  private deferredRepull(twinId: string): void {
    this.deferred.delete(twinId);
    const relay = this.current.get(twinId);
    if (relay === undefined) return;
    this.lastSyncMs.set(twinId, this.now());
    this.options.logger.info({ event: 'upstream.twin_sync_due', twinId }, 'the deferred twin re-pull is due');
    void relay
      .repull()
      .catch(() => false)
      .then((ok) => (ok ? this.repulled(twinId) : this.repullFailed(twinId, relay)));
  }

  private cancelDeferred(twinId: string): void {
    const timer = this.deferred.get(twinId);
    if (timer !== undefined) clearTimeout(timer);
    this.deferred.delete(twinId);
  }

  private waitReady(twinId: string, timeoutMs: number): Promise<TwinRelay | undefined> {
    return new Promise((resolve) => {
      let set = this.waiters.get(twinId);
      if (set === undefined) this.waiters.set(twinId, (set = new Set()));
      const waiter: Waiter = (relay) => {
        clearTimeout(timer);
        resolve(relay);
      };
      const timer = setTimeout(() => {
        this.waiters.get(twinId)?.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      set.add(waiter);
    });
  }

  private fallback(twinId: string, reason: string): undefined {
    this.options.logger.debug({ event: 'upstream.twin_get_local', twinId, reason }, 'a client\'s twin GET is answered from the copy here');
    return undefined;
  }
}
