import { Value } from '@sinclair/typebox/value';
import type { LeafEntry } from './schema-helpers.js';

/**
 * Reading and checking one leaf value. Text comes from environment variables and flags and is
 * converted by the leaf's kind; values from a file arrive typed. Results, not exceptions: the
 * loader collects every problem before it reports.
 */

export type LeafResult = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function expectation(leaf: LeafEntry): string {
  const { options, schema } = leaf;
  const orNull = options.nullable ? ' (or empty for the default)' : '';
  switch (options.kind) {
    case 'int':
      return `an integer from ${String(schema.minimum)} to ${String(schema.maximum)}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${options.values?.join(', ')}`;
    case 'list':
      return `a comma-separated list of ${options.values?.join(', ')}`;
    case 'duration':
      return 'a duration with a unit, such as "500ms", "30s", "5m", "1h" or "00:01:00"';
    case 'bytes':
      return 'a size such as "256KiB", "1MiB" or a number of bytes';
    case 'string':
    case 'path':
      return `a non-empty string${orNull}`;
    case 'json':
      return `${options.expects ?? 'a JSON value'} (JSON text in a variable or flag)`;
  }
}

/** Converts text from the environment or a flag into the leaf's raw (encoded) form. */
export function fromText(leaf: LeafEntry, text: string): LeafResult {
  const { kind, nullable } = leaf.options;
  const trimmed = text.trim();
  if (nullable && trimmed === '') return { ok: true, value: null };
  switch (kind) {
    case 'int':
      return /^[+-]?\d+$/.test(trimmed) ? { ok: true, value: Number(trimmed) } : fail(leaf, text);
    case 'bool': {
      const lower = trimmed.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return fail(leaf, text);
    }
    case 'list':
      return { ok: true, value: trimmed.split(',').map((s) => s.trim()).filter((s) => s.length > 0) };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(trimmed) as unknown };
      } catch (error) {
        return { ok: false, message: `expected ${expectation(leaf)}: not valid JSON (${error instanceof Error ? error.message : String(error)})` };
      }
    case 'string':
    case 'path':
    case 'enum':
    case 'duration':
    case 'bytes':
      return { ok: true, value: trimmed };
  }
}

/** Checks a raw value against the leaf schema and decodes it (durations to ms, sizes to bytes). */
export function decodeLeaf(leaf: LeafEntry, raw: unknown): LeafResult {
  if (!Value.Check(leaf.schema, raw)) return leaf.options.kind === 'json' ? { ok: false, message: `expected ${expectation(leaf)}, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}` } : fail(leaf, raw);
  const value: unknown = Value.Decode(leaf.schema, raw);
  if (typeof value === 'number' && Number.isNaN(value)) return fail(leaf, raw);
  return { ok: true, value };
}

function fail(leaf: LeafEntry, got: unknown): LeafResult {
  return { ok: false, message: `expected ${expectation(leaf)}, got ${JSON.stringify(got)}` };
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}
