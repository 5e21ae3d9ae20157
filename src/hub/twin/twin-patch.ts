/**
 * JSON merge of twin patches (IoT Hub's partial update: a key set to null is removed, objects
 * merge key by key, anything else replaces) and the diff that turns one desired document into
 * another (what a client that missed notifications must apply; EdgeHub's `JsonEx.Diff`).
 */
import type { Json, TwinProperties } from './twin-types.js';

function isObject(value: Json | undefined): value is TwinProperties {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `target[key] = value` as an own data property: a key named "__proto__" stays plain data. */
function setOwn(target: TwinProperties, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A new object: `target` with `patch` merged in (neither is changed). `$version` is dropped from
 * both: the caller sets the new one, last, where IoT Hub writes it.
 */
export function mergePatch(target: TwinProperties, patch: TwinProperties): TwinProperties {
  const result: TwinProperties = { ...target };
  delete result.$version;
  for (const key of Object.keys(patch)) {
    if (key === '$version') continue;
    const value = patch[key]!;
    if (value === null) delete result[key];
    else if (isObject(value)) {
      const current = result[key];
      setOwn(result, key, mergePatch(isObject(current) ? current : {}, value));
    } else setOwn(result, key, value);
  }
  return result;
}

/** The patch that turns `from` into `to` (both without `$version`), or undefined when they are equal. */
export function diffPatch(from: TwinProperties, to: TwinProperties): TwinProperties | undefined {
  const patch: TwinProperties = {};
  let changed = false;
  const set = (key: string, value: Json) => {
    setOwn(patch, key, value);
    changed = true;
  };
  for (const key of Object.keys(from)) {
    if (key !== '$version' && !Object.hasOwn(to, key)) set(key, null);
  }
  for (const key of Object.keys(to)) {
    if (key === '$version') continue;
    const before = Object.hasOwn(from, key) ? from[key] : undefined;
    const after = to[key]!;
    if (isObject(before) && isObject(after)) {
      const inner = diffPatch(before, after);
      if (inner !== undefined) set(key, inner);
    } else if (before === undefined || JSON.stringify(before) !== JSON.stringify(after)) {
      // An object replacing a scalar must first remove what a merge would keep: a merge of {}
      // into a scalar starts empty, so the new object is complete as it is.
      set(key, after);
    }
  }
  return changed ? patch : undefined;
}

/**
 * Whether `later` can be folded into `earlier` as one merge patch with the same effect: not when
 * `earlier` removes a key or sets it to anything but an object (null, a number, an array) and
 * `later` then sets it to an object — merged as one, the object would merge into what the
 * receiver still has instead of starting empty.
 */
function composable(earlier: TwinProperties, later: TwinProperties): boolean {
  for (const key of Object.keys(later)) {
    if (!Object.hasOwn(earlier, key)) continue;
    const before = earlier[key]!;
    const after = later[key]!;
    if (!isObject(before) && isObject(after)) return false;
    if (isObject(before) && isObject(after) && !composable(before, after)) return false;
  }
  return true;
}

/** `later` folded into a copy of `earlier`, nulls kept (they remove keys at the receiver); `$version` dropped. */
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

/**
 * Patches of one twin waiting to be sent, oldest first, each with the range of section versions
 * (`from`..`version`) whose patches it carries.
 */
export interface FoldedPatch {
  readonly patch: TwinProperties;
  readonly from: number;
  readonly version: number;
}

/** Past this many entries that cannot be folded, `appendFolded` rewrites them as at most two (see there). */
export const MAX_UNFOLDED_PATCHES = 8;

/**
 * Appends `added` to `entries` (changed in place), folded into the entries before it as long as
 * one patch has the same effect as the two in order (folding again after each fold, not only into
 * the last entry). What cannot be folded is a key reset (removed, or set to a number) and then set
 * to an object; keys taking turns at that keep entries apart. Past `MAX_UNFOLDED_PATCHES` of them,
 * when `section` — the twin's section after `added`, which the entries lead to — is given, they
 * are rewritten as at most two patches that end at the same section: every key they touch removed
 * where the section has an object there (so the object starts empty), then every such key set to
 * its value in the section. So the list stays short however many patches arrive. The receiver sees
 * those keys removed for a moment between the two.
 */
export function appendFolded(entries: FoldedPatch[], added: FoldedPatch, section?: TwinProperties): void {
  let next: FoldedPatch = { patch: compose({}, added.patch), from: added.from, version: added.version };
  for (let last = entries[entries.length - 1]; last !== undefined && composable(last.patch, next.patch); last = entries[entries.length - 1]) {
    entries.pop();
    next = { patch: compose(last.patch, next.patch), from: Math.min(last.from, next.from), version: Math.max(last.version, next.version) };
  }
  entries.push(next);
  if (entries.length > MAX_UNFOLDED_PATCHES && section !== undefined) entries.splice(0, entries.length, ...rewritten(entries, section));
}

/**
 * `entries` as at most two patches that lead to `section` on every key they touch. Both carry the
 * whole version range: the first answered alone must not count the range as taken.
 */
function rewritten(entries: readonly FoldedPatch[], section: TwinProperties): FoldedPatch[] {
  const resets: TwinProperties = {};
  const values: TwinProperties = {};
  let resetting = false;
  for (const entry of entries) {
    for (const key of Object.keys(entry.patch)) {
      if (key === '$version' || Object.hasOwn(values, key)) continue;
      const value = Object.hasOwn(section, key) ? section[key]! : null;
      setOwn(values, key, value);
      if (isObject(value)) {
        setOwn(resets, key, null);
        resetting = true;
      }
    }
  }
  const from = Math.min(...entries.map((entry) => entry.from));
  const version = Math.max(...entries.map((entry) => entry.version));
  return resetting ? [{ patch: resets, from, version }, { patch: values, from, version }] : [{ patch: values, from, version }];
}
