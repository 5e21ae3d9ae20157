/**
 * One entry of `$edgeHub` desired properties `routes` (section 1.3 of the notes): a route string,
 * or from schema 1.1 on an object `{ route, priority, timeToLiveSecs }`.
 *
 * - priority: 0 (highest) to 9; absent means 2000000000, below every explicit priority.
 * - timeToLiveSecs: 0 to 4294967295; 0 or absent means "the store's timeToLiveSecs".
 *
 * Stricter than Azure, each rejecting only the one route: a whitespace-only route (Azure 1.0 skips
 * it silently), a name outside `^[^.$# ]+$` (the documented schema; Azure only rejects ""), a
 * priority or TTL given as a string or a fraction, and unknown keys in the object (a typo such as
 * "priorty" would otherwise be ignored).
 */

export const DEFAULT_PRIORITY = 2_000_000_000;
const MAX_PRIORITY = 9;
const MAX_TTL_SEC = 4_294_967_295;
const NAME = /^[^.$# ]+$/;
const KEYS = new Set(['route', 'priority', 'timeToLiveSecs']);

export interface RouteSpec {
  readonly text: string;
  readonly priority: number;
  /** 0 = inherit storeAndForwardConfiguration.timeToLiveSecs. */
  readonly ttlSec: number;
}

export type RouteSpecResult = { ok: true; spec: RouteSpec } | { ok: false; reason: string; text?: string };

/** `schemaVersion` is the $edgeHub schema ("1.0" … "1.3"); absent means 1.1 or later. */
export function readRouteSpec(name: string, value: unknown, schemaVersion?: string): RouteSpecResult {
  if (!NAME.test(name)) return { ok: false, reason: `invalid route name ${JSON.stringify(name)}: a name must be non-empty and contain no '.', '$', '#' or space` };
  if (typeof value === 'string') return checkText(value) ?? { ok: true, spec: { text: value, priority: DEFAULT_PRIORITY, ttlSec: 0 } };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'malformed route specification: expected a route string or an object {route, priority, timeToLiveSecs}' };
  }
  if (schemaVersion !== undefined && /^1\.0(\.0)?$/.test(schemaVersion.trim())) {
    return { ok: false, reason: 'route objects {route, priority, timeToLiveSecs} need $edgeHub schemaVersion 1.1 or later' };
  }
  const entry = value as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((key) => !KEYS.has(key));
  if (unknown.length > 0) return { ok: false, reason: `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} in route object (expected route, priority, timeToLiveSecs)` };
  const text = Object.hasOwn(entry, 'route') ? entry.route : undefined;
  if (typeof text !== 'string') return { ok: false, reason: 'route object needs "route": a route string' };
  const empty = checkText(text);
  if (empty !== undefined) return empty;
  const priority = Object.hasOwn(entry, 'priority') ? entry.priority : undefined;
  if (priority !== undefined && !(Number.isInteger(priority) && (priority as number) >= 0 && (priority as number) <= MAX_PRIORITY)) {
    return { ok: false, reason: `priority must be an integer from 0 (highest) to ${MAX_PRIORITY}, got ${JSON.stringify(priority)}`, text };
  }
  const ttl = Object.hasOwn(entry, 'timeToLiveSecs') ? entry.timeToLiveSecs : undefined;
  if (ttl !== undefined && !(Number.isInteger(ttl) && (ttl as number) >= 0 && (ttl as number) <= MAX_TTL_SEC)) {
    return { ok: false, reason: `timeToLiveSecs must be an integer from 0 to ${MAX_TTL_SEC}, got ${JSON.stringify(ttl)}`, text };
  }
  return { ok: true, spec: { text, priority: (priority as number | undefined) ?? DEFAULT_PRIORITY, ttlSec: (ttl as number | undefined) ?? 0 } };
}

function checkText(text: string): RouteSpecResult | undefined {
  return text.trim() === '' ? { ok: false, reason: 'the route string is empty', text } : undefined;
}
