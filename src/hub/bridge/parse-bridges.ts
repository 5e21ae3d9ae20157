/**
 * Reads the MQTT bridge settings in Azure's format (`$edgeHub` `mqttBroker.bridges`, notes 7.2;
 * `BridgeConfig.cs`) and checks them, reporting every problem with its path at once, as the
 * authorization policy does (parse-policy.ts):
 *
 *   [{ endpoint: "$upstream", settings: [{ direction: "in"|"out"|"both", topic, inPrefix?, outPrefix? }] }]
 *
 * Checks: `endpoint` is `$upstream` (the only endpoint Azure supports: the parent edge device);
 * `direction` is one of the three; `topic` is a string (it may be empty); the prefixes are strings
 * without `+` or `#`; `inPrefix + topic`, the filter subscribed on the source side, is a valid,
 * non-empty, non-shared MQTT topic filter; no unknown keys (a misspelt `outPrefix` must not
 * silently publish somewhere else).
 */
import { checkTopicFilter } from '../broker/index.js';

export const BRIDGE_DIRECTIONS = ['in', 'out', 'both'] as const;
export type BridgeDirection = (typeof BRIDGE_DIRECTIONS)[number];

/** The one endpoint a bridge may name: this edge device's parent (notes 7.2). */
export const UPSTREAM_ENDPOINT = '$upstream';

/** One `settings` entry: which topics cross, which way, and how they are renamed. */
export interface BridgeRule {
  readonly direction: BridgeDirection;
  readonly topic: string;
  /** Prefix on the source side (stripped); '' for none. */
  readonly inPrefix: string;
  /** Prefix on the destination side (prepended); '' for none. */
  readonly outPrefix: string;
}

export interface BridgeProblem {
  /** Path below `mqttBroker`, e.g. `bridges[0].settings[2].inPrefix`. */
  readonly path: string;
  readonly message: string;
}

export type BridgesParse = { readonly ok: true; readonly rules: readonly BridgeRule[] } | { readonly ok: false; readonly problems: readonly BridgeProblem[] };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The rules of every `$upstream` bridge, in order. Several `$upstream` entries are read as one
 * bridge with their settings concatenated (there is one parent, so one connection).
 */
export function parseBridges(value: unknown, path = 'bridges'): BridgesParse {
  if (!Array.isArray(value)) return { ok: false, problems: [{ path, message: 'must be an array of bridges {endpoint: "$upstream", settings: [...]}' }] };
  const problems: BridgeProblem[] = [];
  const rules: BridgeRule[] = [];
  value.forEach((bridge, b) => {
    const bridgePath = `${path}[${b}]`;
    if (!isObject(bridge)) {
      problems.push({ path: bridgePath, message: 'a bridge must be an object {endpoint, settings}' });
      return;
    }
    unknownKeys(bridge, ['endpoint', 'settings'], bridgePath, problems);
    if (bridge.endpoint === undefined) problems.push({ path: `${bridgePath}.endpoint`, message: 'required: "$upstream"' });
    else if (bridge.endpoint !== UPSTREAM_ENDPOINT) {
      problems.push({ path: `${bridgePath}.endpoint`, message: `only "$upstream" (the parent edge device) is supported, not ${JSON.stringify(bridge.endpoint)}` });
    }
    if (!Array.isArray(bridge.settings)) {
      problems.push({ path: `${bridgePath}.settings`, message: 'required: an array of {direction, topic, inPrefix?, outPrefix?}' });
      return;
    }
    bridge.settings.forEach((setting, s) => {
      const rule = parseRule(setting, `${bridgePath}.settings[${s}]`, problems);
      if (rule !== undefined) rules.push(rule);
    });
  });
  return problems.length === 0 ? { ok: true, rules } : { ok: false, problems };
}

function parseRule(value: unknown, path: string, problems: BridgeProblem[]): BridgeRule | undefined {
  if (!isObject(value)) {
    problems.push({ path, message: 'a setting must be an object {direction, topic, inPrefix?, outPrefix?}' });
    return undefined;
  }
  const before = problems.length;
  unknownKeys(value, ['direction', 'topic', 'inPrefix', 'outPrefix'], path, problems);
  const direction = value.direction;
  if (!(BRIDGE_DIRECTIONS as readonly unknown[]).includes(direction)) {
    problems.push({ path: `${path}.direction`, message: `must be one of ${BRIDGE_DIRECTIONS.map((d) => `"${d}"`).join(', ')}${direction === undefined ? '' : `, not ${JSON.stringify(direction)}`}` });
  }
  if (typeof value.topic !== 'string') problems.push({ path: `${path}.topic`, message: 'required: a topic filter (a string, which may be empty when inPrefix is not)' });
  const inPrefix = prefix(value.inPrefix, `${path}.inPrefix`, problems);
  const outPrefix = prefix(value.outPrefix, `${path}.outPrefix`, problems);
  if (problems.length > before || typeof value.topic !== 'string') return undefined;
  const filter = inPrefix + value.topic;
  if (filter === '') {
    problems.push({ path: `${path}.topic`, message: 'topic and inPrefix are both empty: there is nothing to subscribe to' });
    return undefined;
  }
  if (filter.startsWith('$share/')) {
    problems.push({ path: `${path}.topic`, message: `${JSON.stringify(filter)} is a shared subscription, which a bridge cannot use` });
    return undefined;
  }
  const check = checkTopicFilter(filter);
  if (!check.ok) {
    problems.push({ path: `${path}.topic`, message: `inPrefix + topic = ${JSON.stringify(filter)} is not a valid MQTT topic filter: ${check.reason}` });
    return undefined;
  }
  return { direction: direction as BridgeDirection, topic: value.topic, inPrefix, outPrefix };
}

function prefix(value: unknown, path: string, problems: BridgeProblem[]): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    problems.push({ path, message: 'must be a string (a topic prefix)' });
    return '';
  }
  // Azure refuses wildcards in prefixes: a prefix is literal text prepended to a topic name.
  if (value.includes('+') || value.includes('#')) problems.push({ path, message: `${JSON.stringify(value)} must not contain the wildcards + or #` });
  if (value.includes('\u0000')) problems.push({ path, message: 'must not contain U+0000' });
  return value;
}

function unknownKeys(value: Json, known: readonly string[], path: string, problems: BridgeProblem[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push({ path: `${path}.${key}`, message: `unknown key "${key}" (expected ${known.join(', ')})` });
  }
}
