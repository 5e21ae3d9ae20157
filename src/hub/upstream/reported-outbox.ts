import { appendFolded, type FoldedPatch, type TwinProperties } from '../twin/index.js';

/**
 * Reported-property patches of one twin on their way to the upstream, in order (Azure's edge hub
 * `ReportedPropertiesStore`: answered locally, pushed when it can, merged while offline). Patches
 * waiting are folded into as few as give the same result (`appendFolded`); a patch sent and not
 * yet answered is `inflight`, and goes back in front of the waiting ones when its link goes. Each
 * entry knows the range of reported versions it carries, so `done` can tell up to which version
 * everything has been answered: the durable copy (the twin's `upstreamOutbox`) drops that much.
 */
export class ReportedOutbox {
  private waiting: FoldedPatch[] = [];
  private inflight: FoldedPatch[] = [];
  /** The highest version of a patch answered so far. */
  private answered = -Infinity;

  get empty(): boolean {
    return this.waiting.length === 0 && this.inflight.length === 0;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** How many patches wait or are in flight (after folding). */
  get size(): number {
    return this.waiting.length + this.inflight.length;
  }

  /**
   * `version`: the reported `$version` the patch made here; `from`: the first one, when a stored
   * entry carries several; `section`: the reported section after it, which lets a long run of
   * patches that cannot be folded be rewritten as two (`appendFolded`).
   */
  add(patch: TwinProperties, version: number, options: { readonly from?: number; readonly section?: TwinProperties } = {}): void {
    appendFolded(this.waiting, { patch, from: options.from ?? version, version }, options.section);
  }

  /** The next patch to send, now in flight. */
  take(): TwinProperties | undefined {
    const next = this.waiting.shift();
    if (next !== undefined) this.inflight.push(next);
    return next?.patch;
  }

  /**
   * The upstream answered `patch` (accepted or refused for good): it leaves. Returns the version up
   * to which every patch has now been answered — below the oldest patch still here, in flight or
   * waiting — or undefined when `patch` was not in flight. A later patch answered before an
   * earlier one therefore does not move it past the earlier one.
   */
  done(patch: TwinProperties): number | undefined {
    const at = this.inflight.findIndex((entry) => entry.patch === patch);
    if (at < 0) return undefined;
    this.answered = Math.max(this.answered, this.inflight.splice(at, 1)[0]!.version);
    let oldest = Infinity;
    for (const left of this.inflight) oldest = Math.min(oldest, left.from);
    for (const left of this.waiting) oldest = Math.min(oldest, left.from);
    return Math.min(this.answered, oldest - 1);
  }

  /** The link went: every patch in flight is sent again, first, in its order. */
  requeue(): void {
    const again = this.inflight;
    this.inflight = [];
    const waiting = this.waiting;
    this.waiting = [];
    for (const entry of [...again, ...waiting]) appendFolded(this.waiting, entry);
  }
}
