import { hostname as osHostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { OutpostError } from '../errors/index.js';
import { decodeLeaf } from './leaf-value.js';
import { formatBytes } from './units.js';
import { memoryFloor, plannedShards } from './memory-plan.js';
import { ConfigSchema, type DecodedConfig, type OutpostConfig } from './schema.js';
import { leaves, type LeafEntry } from './schema-helpers.js';
import { CONFIG_FILE_ENV, readEnv, readFile, readFlags, type ConfigProblem, type FlagValue, type Origin, type Setting } from './sources.js';

export interface LoadConfigInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags?: readonly FlagValue[];
  /** From --config; otherwise OUTPOST_CONFIG; otherwise no file. */
  readonly configFile?: string | null;
  readonly cwd?: string;
  readonly hostname?: string;
}

export interface LoadedConfig {
  readonly config: OutpostConfig;
  /** Where each leaf's value came from, by dotted path. */
  readonly origins: ReadonlyMap<string, Origin>;
  readonly configFile: string | null;
  readonly warnings: readonly string[];
}

const DEFAULT_ORIGIN: Origin = { source: 'default', origin: 'default' };

/**
 * Builds the configuration from defaults < config file < environment < flags. Every problem from
 * every source is collected and reported together in one OutpostError (OUTPOST_CONFIG_INVALID,
 * details.problems), each with its source and path, so an operator fixes them in one pass.
 */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const cwd = input.cwd ?? process.cwd();
  const fileArg = input.configFile ?? input.env[CONFIG_FILE_ENV] ?? null;
  const configFile = fileArg === null || fileArg === '' ? null : resolve(cwd, fileArg);

  const layers = [
    configFile === null ? undefined : readFile(ConfigSchema, configFile),
    readEnv(ConfigSchema, input.env, cwd),
    readFlags(ConfigSchema, input.flags ?? [], cwd),
  ].filter((layer) => layer !== undefined);

  const problems: ConfigProblem[] = layers.flatMap((layer) => layer.problems);
  const warnings = layers.flatMap((layer) => layer.warnings);

  // Later layers win; within a layer the last occurrence wins.
  const chosen = new Map<string, Setting>();
  for (const layer of layers) for (const setting of layer.settings) chosen.set(setting.leaf.path, setting);

  const all = leaves(ConfigSchema);
  applyImplications(all, chosen);

  const tree: Record<string, unknown> = {};
  const origins = new Map<string, Origin>();
  for (const leaf of all) {
    const setting = chosen.get(leaf.path);
    const raw = setting === undefined ? leaf.schema.default : setting.raw;
    const origin: Origin = setting === undefined ? DEFAULT_ORIGIN : { source: setting.source, origin: setting.origin };
    const decoded = decodeLeaf(leaf, raw);
    if (!decoded.ok) {
      problems.push({ ...origin, path: leaf.path, code: 'OUTPOST_CONFIG_INVALID', message: decoded.message });
      continue;
    }
    let value = decoded.value;
    if (leaf.options.check !== undefined && value !== null) {
      const found = leaf.options.check(value);
      for (const problem of found) problems.push({ ...origin, path: `${leaf.path}${problem.path}`, code: problem.code ?? 'OUTPOST_CONFIG_INVALID', message: problem.message });
      if (found.length > 0) continue;
    }
    if (leaf.options.kind === 'path' && typeof value === 'string' && !isAbsolute(value)) {
      value = resolve(setting?.baseDir ?? cwd, value);
    }
    assign(tree, leaf.segments, value);
    origins.set(leaf.path, origin);
  }

  if (problems.length === 0) problems.push(...crossChecks(tree as unknown as DecodedConfig, origins));
  if (problems.length > 0) throw configError(problems);

  const decoded = tree as unknown as DecodedConfig;
  const config: OutpostConfig = {
    ...decoded,
    gatewayHostname: decoded.gatewayHostname ?? input.hostname ?? osHostname(),
    store: { ...decoded.store, dir: decoded.store.dir ?? join(decoded.dataDir, 'store') },
  };
  return { config, origins, configFile, warnings };
}

/** A leaf with `implies` set by a real source turns on its companions unless they were set too. */
function applyImplications(all: readonly LeafEntry[], chosen: Map<string, Setting>): void {
  const byPath = new Map(all.map((leaf) => [leaf.path, leaf]));
  for (const leaf of all) {
    const setting = chosen.get(leaf.path);
    if (setting === undefined || leaf.options.implies === undefined) continue;
    for (const [path, value] of Object.entries(leaf.options.implies)) {
      const target = byPath.get(path);
      if (target !== undefined && !chosen.has(path)) {
        chosen.set(path, { ...setting, origin: `${setting.origin} (implied)`, leaf: target, raw: value });
      }
    }
  }
}

function crossChecks(config: DecodedConfig, origins: ReadonlyMap<string, Origin>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (path: string): Origin => origins.get(path) ?? DEFAULT_ORIGIN;
  if ((config.tls.certFile === null) !== (config.tls.keyFile === null)) {
    const set = config.tls.certFile === null ? 'tls.keyFile' : 'tls.certFile';
    problems.push({ ...at(set), path: set, code: 'OUTPOST_CONFIG_INVALID', message: 'tls.certFile and tls.keyFile must be set together' });
  }
  if (config.mqttPlain.allowAnonymous && !config.mqttPlain.forceAnonymous && !isLoopback(config.mqttPlain.host)) {
    problems.push({
      ...at('mqttPlain.allowAnonymous'),
      path: 'mqttPlain.allowAnonymous',
      code: 'OUTPOST_CONFIG_INVALID',
      message: `anonymous clients on the non-loopback address ${config.mqttPlain.host} need mqttPlain.forceAnonymous=true`,
    });
  }
  const shards = plannedShards(config);
  const floor = memoryFloor(shards, config.store.persistent);
  if (config.memoryBudget < floor) {
    problems.push({
      ...at('memoryBudget'),
      path: 'memoryBudget',
      code: 'OUTPOST_CONFIG_INVALID',
      message: `${formatBytes(config.memoryBudget)} is below the ${formatBytes(Math.ceil(floor / 1024 / 1024) * 1024 * 1024)} this configuration runs with (the main thread's heap, ${shards} store shard${shards === 1 ? '' : 's'} with their worker heaps and write buffers, the broker's queues: docs/benchmarks.md, "Memory budget"); raise memoryBudget or lower store.shards`,
    });
  }
  const listeners = [
    { path: 'mqtt', enabled: config.mqtt.enabled, port: config.mqtt.port },
    { path: 'mqttPlain', enabled: config.mqttPlain.enabled, port: config.mqttPlain.port },
    { path: 'amqp', enabled: config.amqp.enabled, port: config.amqp.port },
    { path: 'https', enabled: config.https.enabled, port: config.https.port },
  ].filter((l) => l.enabled && l.port !== 0);
  const seen = new Map<number, string>();
  for (const listener of listeners) {
    const other = seen.get(listener.port);
    if (other !== undefined) {
      problems.push({
        ...at(`${listener.path}.port`),
        path: `${listener.path}.port`,
        code: 'OUTPOST_CONFIG_INVALID',
        message: `port ${listener.port} is also used by ${other}.port`,
      });
    } else seen.set(listener.port, listener.path);
  }
  return problems;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function describeOrigin(origin: Origin): string {
  switch (origin.source) {
    case 'default':
      return 'default';
    case 'file':
      return `config file ${origin.origin}`;
    case 'env':
      return `environment variable ${origin.origin}`;
    case 'flag':
      return `flag ${origin.origin}`;
  }
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.path === '' ? '' : `${problem.path}: `;
  return `${where}${problem.message} [${describeOrigin(problem)}]`;
}

function configError(problems: ConfigProblem[]): OutpostError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const message = `configuration is invalid (${count}):\n` + problems.map((p) => `  - ${formatProblem(p)}`).join('\n');
  return new OutpostError('OUTPOST_CONFIG_INVALID', message, { details: { problems } });
}

function assign(tree: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = tree;
  for (const segment of segments.slice(0, -1)) {
    node[segment] ??= {};
    node = node[segment] as Record<string, unknown>;
  }
  node[segments[segments.length - 1]!] = value;
}
