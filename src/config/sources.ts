import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { TObject } from '@sinclair/typebox';
import type { ErrorCode } from '../errors/index.js';
import { closest, fromText } from './leaf-value.js';
import { envName, isSection, leaves, leafOptions, type AliasSpec, type LeafEntry } from './schema-helpers.js';

/**
 * The three non-default sources of configuration. Each reader returns the settings it found and
 * every problem it met; the loader merges them by precedence (file < environment < flags).
 */

export type SourceKind = 'default' | 'file' | 'env' | 'flag';

export interface Origin {
  readonly source: SourceKind;
  /** The file path, variable name or flag that supplied the value. */
  readonly origin: string;
}

export interface Setting extends Origin {
  readonly leaf: LeafEntry;
  readonly raw: unknown;
  /** Relative paths are resolved against this directory. */
  readonly baseDir: string;
}

export interface ConfigProblem extends Origin {
  readonly path: string;
  readonly message: string;
  /** A config code, or the code of what a structured value holds (OUTPOST_ROUTE_SYNTAX for a route, …). */
  readonly code: ErrorCode;
}

export interface SourceResult {
  readonly settings: Setting[];
  readonly problems: ConfigProblem[];
  readonly warnings: string[];
}

/** The variable that names the configuration file; it is not a schema leaf. */
export const CONFIG_FILE_ENV = 'OUTPOST_CONFIG';

/**
 * Azure edge hub variables that mean nothing here. They are accepted with a warning, so an
 * operator moving a deployment over learns they have no effect instead of wondering.
 */
const AZURE_IGNORED = new Map<string, string>([
  ['optimizeforperformance', 'RocksDB tuning is automatic'],
  ['mqttsettings__usepooledbuffers', 'buffers are managed by Node.js'],
  ['amqpsettings__delayedbatchingenabled', 'frames are batched per event-loop turn'],
  ['enablesdkdebuglogs', 'use logLevel'],
]);

export function readFile(schema: TObject, file: string): SourceResult {
  const origin: Origin = { source: 'file', origin: file };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    return empty([{ ...origin, path: '', code: 'OUTPOST_CONFIG_FILE_UNREADABLE', message: `cannot read the configuration file (${reason})` }]);
  }
  // YAML 1.2 is a superset of JSON, so one parser serves both and gives line and column. Loaded
  // only when there is a file: most gateways run on the defaults and the environment, and the
  // parser costs the process about 1 MB of heap and 8 MB of RSS.
  const { parseDocument } = loadYaml();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return empty(
      doc.errors.map((e) => ({
        ...origin,
        path: '',
        code: 'OUTPOST_CONFIG_FILE_SYNTAX' as const,
        message: `syntax error at line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return empty([]);
  const result: SourceResult = { settings: [], problems: [], warnings: [] };
  walkObject(schema, data, [], { ...origin, baseDir: dirname(file) }, result);
  return result;
}

function walkObject(
  section: TObject,
  data: unknown,
  prefix: string[],
  origin: Origin & { baseDir: string },
  out: SourceResult,
): void {
  const path = prefix.join('.');
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    out.problems.push({ ...origin, path, code: 'OUTPOST_CONFIG_INVALID', message: `expected a section (an object), got ${JSON.stringify(data)}` });
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    const child = section.properties[key];
    const segments = [...prefix, key];
    if (child === undefined) {
      const hint = closest(key, Object.keys(section.properties));
      out.problems.push({
        ...origin,
        path: segments.join('.'),
        code: 'OUTPOST_CONFIG_UNKNOWN_KEY',
        message: `unknown key${hint === undefined ? '' : ` (did you mean "${[...prefix, hint].join('.')}"?)`}`,
      });
    } else if (isSection(child)) {
      walkObject(child, value, segments, origin, out);
    } else {
      const options = leafOptions(child)!;
      out.settings.push({ ...origin, leaf: { path: segments.join('.'), segments, schema: child, options }, raw: value });
    }
  }
}

export function readEnv(schema: TObject, env: Readonly<Record<string, string | undefined>>, cwd: string): SourceResult {
  const byNative = new Map<string, LeafEntry>();
  const byAlias = new Map<string, { leaf: LeafEntry; alias: AliasSpec }>();
  for (const leaf of leaves(schema)) {
    byNative.set(envName(leaf.segments), leaf);
    for (const alias of leaf.options.aliases ?? []) byAlias.set(alias.name.toLowerCase(), { leaf, alias });
  }
  const result: SourceResult = { settings: [], problems: [], warnings: [] };
  const nativePaths = new Set<string>();
  const aliasSettings: Setting[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (text === undefined) continue;
    const origin: Origin = { source: 'env', origin: name };
    if (name.startsWith('OUTPOST_')) {
      if (name === CONFIG_FILE_ENV) continue;
      const leaf = byNative.get(name);
      if (leaf === undefined) {
        const hint = closest(name, [...byNative.keys(), CONFIG_FILE_ENV]);
        result.problems.push({
          ...origin,
          path: '',
          code: 'OUTPOST_CONFIG_UNKNOWN_KEY',
          message: `unknown environment variable${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
        });
        continue;
      }
      pushText(result, leaf, text, origin, cwd, result.settings);
      nativePaths.add(leaf.path);
      continue;
    }
    const aliased = byAlias.get(name.toLowerCase());
    if (aliased !== undefined) {
      const converted = aliased.alias.toValue === undefined ? text : aliased.alias.toValue(text);
      pushText(result, aliased.leaf, converted, origin, cwd, aliasSettings);
      continue;
    }
    const ignored = AZURE_IGNORED.get(name.toLowerCase());
    if (ignored !== undefined) result.warnings.push(`${name} has no effect in Outpost: ${ignored}`);
  }
  // An OUTPOST_* variable is more specific than an Azure alias for the same setting.
  for (const setting of aliasSettings) {
    if (nativePaths.has(setting.leaf.path)) {
      result.warnings.push(`${setting.origin} is overridden by ${envName(setting.leaf.segments)}`);
    } else result.settings.push(setting);
  }
  return result;
}

/** Flags arrive as (flag text, leaf path, value text): named flags and `--set path=value`. */
export interface FlagValue {
  readonly flag: string;
  readonly path: string;
  readonly text: string;
}

export function readFlags(schema: TObject, flags: readonly FlagValue[], cwd: string): SourceResult {
  const byPath = new Map(leaves(schema).map((leaf) => [leaf.path, leaf]));
  const result: SourceResult = { settings: [], problems: [], warnings: [] };
  for (const flag of flags) {
    const origin: Origin = { source: 'flag', origin: flag.flag };
    const leaf = byPath.get(flag.path);
    if (leaf === undefined) {
      const hint = closest(flag.path, byPath.keys());
      result.problems.push({
        ...origin,
        path: flag.path,
        code: 'OUTPOST_CONFIG_UNKNOWN_KEY',
        message: `unknown setting${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
      });
      continue;
    }
    pushText(result, leaf, flag.text, origin, cwd, result.settings);
  }
  return result;
}

function pushText(result: SourceResult, leaf: LeafEntry, text: string, origin: Origin, baseDir: string, into: Setting[]): void {
  const converted = fromText(leaf, text);
  if (converted.ok) into.push({ ...origin, leaf, raw: converted.value, baseDir });
  else result.problems.push({ ...origin, path: leaf.path, code: 'OUTPOST_CONFIG_INVALID', message: converted.message });
}

function empty(problems: ConfigProblem[]): SourceResult {
  return { settings: [], problems, warnings: [] };
}

let yaml: typeof import('yaml') | undefined;
function loadYaml(): typeof import('yaml') {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml;
}
