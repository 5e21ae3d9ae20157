import type { Json, TwinProperties } from '../twin/index.js';

function isObject(value: Json | undefined): value is TwinProperties {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setOwn(target: TwinProperties, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Whether `later` can be folded into `earlier` as one merge patch with the same effect: not when
 * `earlier` removes a key (null) that `later` sets to an object — merged as one, the object would
 * merge into what the upstream still has instead of starting empty.
 */
function composable(earlier: TwinProperties, later: TwinProperties): boolean {
  for (const key of Object.keys(later)) {
    if (!Object.hasOwn(earlier, key)) continue;
    const before = earlier[key]!;
    const after = later[key]!;
    if (before === null && isObject(after)) return false;
    if (isObject(before) && isObject(after) && !composable(before, after)) return false;
  }
  return true;
}

/** `later` folded into a copy of `earlier`: nulls kept (they remove keys upstream). */
function compose(earlier: TwinProperties, later: TwinProperties): TwinProperties {
  const result: TwinProperties = { ...earlier };
  for (const key of Object.keys(later)) {
    if (key === '$version') continue;
    const before = Object.hasOwn(result, key) ? result[key] : undefined;
    const after = later[key]!;
    setOwn(result, key, isObject(before) && isObject(after) ? compose(before, after) : after);
  }
  return result;
}

interface Entry {
  readonly patch: TwinProperties;
  /** The reported `$version`s of the patches folded into it (none for a patch without one). */
  readonly versions: number[];
}

/**
 * Reported-property patches of one twin on their way to the upstream, in order (Azure's edge hub
 * `ReportedPropertiesStore`: answered locally, pushed when it can, merged while offline). Patches
 * waiting are folded into one where that changes nothing; a patch sent and not yet answered is
 * `inflight`, and goes back in front of the waiting ones when its link goes. Each entry remembers
 * the reported versions it carries, so the durable copy (the twin's `upstreamOutbox`) can drop
 * exactly those once the upstream has them.
 */
export class ReportedOutbox {
  private waiting: Entry[] = [];
  private inflight: Entry[] = [];

  get empty(): boolean {
    return this.waiting.length === 0 && this.inflight.length === 0;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** `version`: the reported `$version` the patch made here, when known (what `done` gives back). */
  add(patch: TwinProperties, version?: number): void {
    this.push({ patch, versions: version === undefined ? [] : [version] });
  }

  /** The next patch to send, now in flight. */
  take(): TwinProperties | undefined {
    const next = this.waiting.shift();
    if (next !== undefined) this.inflight.push(next);
    return next?.patch;
  }

  /** The upstream answered `patch` (accepted or refused for good): it leaves; returns the versions it carried. */
  done(patch: TwinProperties): readonly number[] {
    const at = this.inflight.findIndex((entry) => entry.patch === patch);
    if (at < 0) return [];
    return this.inflight.splice(at, 1)[0]!.versions;
  }

  /** The link went: every patch in flight is sent again, first, in its order. */
  requeue(): void {
    const again = this.inflight;
    this.inflight = [];
    const waiting = this.waiting;
    this.waiting = [];
    for (const entry of [...again, ...waiting]) this.push(entry);
  }

  private push(entry: Entry): void {
    const last = this.waiting[this.waiting.length - 1];
    if (last !== undefined && composable(last.patch, entry.patch)) {
      this.waiting[this.waiting.length - 1] = { patch: compose(last.patch, entry.patch), versions: [...last.versions, ...entry.versions] };
    } else {
      this.waiting.push({ patch: compose({}, entry.patch), versions: [...entry.versions] });
    }
  }
}
