/**
 * JSON merge of twin patches (IoT Hub's partial update: a key set to null is removed, objects
 * merge key by key, anything else replaces) and the diff that turns one desired document into
 * another (what a client that missed notifications must apply; EdgeHub's `JsonEx.Diff`).
 */
import type { Json, TwinProperties } from './twin-types.js';

function isObject(value: Json | undefined): value is TwinProperties {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
      // defineProperty, not assignment: a key named "__proto__" stays plain data.
      Object.defineProperty(result, key, { value: mergePatch(isObject(current) ? current : {}, value), enumerable: true, writable: true, configurable: true });
    } else Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** The patch that turns `from` into `to` (both without `$version`), or undefined when they are equal. */
export function diffPatch(from: TwinProperties, to: TwinProperties): TwinProperties | undefined {
  const patch: TwinProperties = {};
  let changed = false;
  const set = (key: string, value: Json) => {
    Object.defineProperty(patch, key, { value, enumerable: true, writable: true, configurable: true });
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
