/**
 * IoT Hub's rules for twin properties ("Understand and use device twins in IoT Hub", Tags and
 * properties format; Azure's edge hub enforces the same in `ReportedPropertiesValidator`):
 *
 * - a patch is a JSON object; `null` deletes a key; the patch is at most 32 KB of UTF-8 JSON;
 * - keys: at most 1 KB of UTF-8, no control characters (C0, C1), '.', '$', '#' or white space
 *   ('$' is kept for `$version`/`$metadata`; EdgeHub also reserves '#');
 * - values: strings at most 4 KB of UTF-8; integers within ±2^52 (IoT Hub's safe range); arrays
 *   may not hold null; objects and arrays nest at most 10 deep below the section's root;
 * - a section (desired, reported) stays within 32 KB by IoT Hub's twin size count.
 *
 * Every rule is checked before anything is written, so a refused patch changes nothing.
 */
import type { Json, TwinProperties } from './twin-types.js';

export const TwinLimits = {
  maxDepth: 10,
  maxKeyBytes: 1024,
  maxStringBytes: 4096,
  maxPatchBytes: 32 * 1024,
  maxSectionBytes: 32 * 1024,
  maxSafeInteger: 4_503_599_627_370_495, // 2^52 - 1
  minSafeInteger: -4_503_599_627_370_496, // -2^52
} as const;

export type PatchCheck = { readonly ok: true; readonly patch: TwinProperties } | { readonly ok: false; readonly reason: string };

// C0, DEL and C1 controls, white space, and the reserved '.', '$', '#'.
const BAD_KEY_CHAR = /[\u0000-\u001f\u007f-\u009f.$#\s]/u;

/** Checks a parsed patch against the rules above; the JSON text (when known) decides the size rule. */
export function validateTwinPatch(patch: unknown, jsonBytes?: number): PatchCheck {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return { ok: false, reason: 'the patch must be a JSON object' };
  const bytes = jsonBytes ?? Buffer.byteLength(JSON.stringify(patch), 'utf8');
  if (bytes > TwinLimits.maxPatchBytes) return { ok: false, reason: `the patch is ${bytes} bytes; at most ${TwinLimits.maxPatchBytes} are allowed` };
  const problem = checkObject(patch as Record<string, unknown>, 0, false);
  return problem === undefined ? { ok: true, patch: patch as TwinProperties } : { ok: false, reason: problem };
}

function checkObject(object: Record<string, unknown>, depth: number, inArray: boolean): string | undefined {
  if (depth > TwinLimits.maxDepth) return `properties nest deeper than ${TwinLimits.maxDepth} levels`;
  for (const key of Object.keys(object)) {
    const keyProblem = checkKey(key);
    if (keyProblem !== undefined) return keyProblem;
    const value = object[key];
    if (value === null) {
      if (inArray) return `property ${JSON.stringify(key)} of an object in an array cannot be null`;
      continue;
    }
    const problem = checkValue(key, value, depth + 1, inArray);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkKey(key: string): string | undefined {
  if (Buffer.byteLength(key, 'utf8') > TwinLimits.maxKeyBytes) return `property name ${JSON.stringify(key.slice(0, 16))}… is longer than ${TwinLimits.maxKeyBytes} bytes`;
  const bad = BAD_KEY_CHAR.exec(key);
  if (bad !== null) return `property name ${JSON.stringify(key)} contains ${JSON.stringify(bad[0])}, which is not allowed (control characters, '.', '$', '#', white space)`;
  return undefined;
}

function checkValue(name: string, value: unknown, depth: number, inArray: boolean): string | undefined {
  switch (typeof value) {
    case 'boolean':
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) return `property ${JSON.stringify(name)} is not a finite number`;
      if (Number.isInteger(value) && (value > TwinLimits.maxSafeInteger || value < TwinLimits.minSafeInteger)) {
        return `property ${JSON.stringify(name)} is out of range: integers must be between ${TwinLimits.minSafeInteger} and ${TwinLimits.maxSafeInteger}`;
      }
      return undefined;
    case 'string': {
      const bytes = Buffer.byteLength(value, 'utf8');
      return bytes > TwinLimits.maxStringBytes ? `the value of property ${JSON.stringify(name)} is ${bytes} bytes; at most ${TwinLimits.maxStringBytes} are allowed` : undefined;
    }
    case 'object':
      if (value === null) return inArray ? `arrays cannot hold null (property ${JSON.stringify(name)})` : undefined;
      if (Array.isArray(value)) return checkArray(name, value, depth);
      return checkObject(value as Record<string, unknown>, depth, inArray);
    default:
      return `property ${JSON.stringify(name)} has a value of an unsupported type`;
  }
}

function checkArray(name: string, array: readonly unknown[], depth: number): string | undefined {
  if (depth > TwinLimits.maxDepth) return `properties nest deeper than ${TwinLimits.maxDepth} levels`;
  for (const item of array) {
    if (item === null) return `arrays cannot hold null (property ${JSON.stringify(name)})`;
    const problem = checkValue(name, item, depth + 1, true);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * A section's size as IoT Hub counts it (Device twin size): for each property its key's UTF-8
 * length plus its value's: a string's UTF-8 length, 8 for a number, 4 for a boolean, the sum for
 * an object or array. `$version` is not counted.
 */
export function sectionBytes(properties: TwinProperties): number {
  let total = 0;
  for (const key of Object.keys(properties)) {
    if (key === '$version') continue;
    total += Buffer.byteLength(key, 'utf8') + valueBytes(properties[key]!);
  }
  return total;
}

function valueBytes(value: Json): number {
  if (value === null) return 0;
  switch (typeof value) {
    case 'string':
      return Buffer.byteLength(value, 'utf8');
    case 'number':
      return 8;
    case 'boolean':
      return 4;
    default:
      if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + valueBytes(item), 0);
      return sectionBytes(value);
  }
}
