/**
 * The JSON paths of `$body.<path>` and `twin_change_includes(<path>)` (Azure's `JsonPath.g4` and
 * `TwinChangeJsonPathValidator`, section 4.7 of the notes): names separated by '.', each optionally
 * followed by `[n]` array indexes. Names are case-sensitive when evaluated (Json.NET SelectTokens).
 *
 * Azure's grammar checks one `[n]` per name and then hands the text to Json.NET, which also reads
 * `a[0][1]`; Outpost accepts the same. Stricter than Azure: a `*` name (a Json.NET wildcard that
 * yields several matches and so always Undefined) and text after an index (`a[0]x`, a runtime error
 * in Azure) are compile errors.
 */

/** Names and array indexes, in order. */
export type JsonPathSegments = readonly (string | number)[];

export type JsonPathResult = { ok: true; segments: JsonPathSegments } | { ok: false; reason: string; index: number };

// JsonPath.g4 IDENTIFIER: any character but ()<>@,;:\"/[]?={}. and tab, newline, carriage return.
const NAME_STOP = new Set('()<>@,;:\\"/[]?={}.\t\n\r');

export function parseJsonPath(path: string): JsonPathResult {
  if (path === '') return { ok: false, reason: 'the path is empty', index: 0 };
  const segments: (string | number)[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    while (i < path.length && !NAME_STOP.has(path[i]!)) i++;
    const name = path.slice(start, i);
    if (name === '') return { ok: false, reason: `expected a property name at '${path.slice(start) || 'the end'}'`, index: start };
    if (/^[0-9]+$/.test(name)) return { ok: false, reason: `'${name}' is a number, not a property name (use [${name}] for an array index)`, index: start };
    if (name === '*') return { ok: false, reason: "wildcards ('*') are not supported", index: start };
    segments.push(name);
    while (path[i] === '[') {
      const close = path.indexOf(']', i);
      const digits = close < 0 ? '' : path.slice(i + 1, close);
      if (!/^[0-9]+$/.test(digits)) return { ok: false, reason: 'an array index must be [<digits>]', index: i };
      segments.push(Number(digits));
      i = close + 1;
    }
    if (i === path.length) return { ok: true, segments };
    if (path[i] !== '.') return { ok: false, reason: `unexpected '${path[i]!}'`, index: i };
    i++;
  }
}

const TWIN_PREFIXES = ['properties.reported.', 'properties.desired.', 'tags.'];

export function parseTwinPath(path: string): JsonPathResult {
  const parsed = parseJsonPath(path);
  if (!parsed.ok) return parsed;
  if (parsed.segments.some((s) => typeof s === 'number')) return { ok: false, reason: 'array indexes are not supported in twin paths', index: 0 };
  const lower = path.toLowerCase();
  if (!TWIN_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    return { ok: false, reason: `'${path}' is not supported: the path must start with ${TWIN_PREFIXES.map((p) => `'${p}'`).join(', ')}`, index: 0 };
  }
  return parsed;
}
