import { arch, platform, release } from 'node:os';
import { chunkCreateOptions, DEFAULT_STARTUP_ORDER, type Deployment, type DeploymentStatus, type ModuleSpec, type RuntimeKind } from '../manifest/index.js';
import { moduleStatus, NO_RESTARTS, type ActualModule, type RestartOptions, type RestartRecord } from '../plan/index.js';

/**
 * The $edgeAgent reported properties (Azure's AgentState.cs shape, reported_states_during_
 * deployment.md): what `outpost list` shows, what is kept in <dataDir>/agent/reported.json and
 * what the upstream link sends as a twin patch.
 */
export interface ReportedInput {
  readonly version: string;
  readonly runtime: RuntimeKind;
  readonly lastDesiredVersion: number;
  readonly lastDesiredStatus: DeploymentStatus;
  /** The deployment being applied (the last valid one); undefined before any. */
  readonly deployment: Deployment | undefined;
  readonly actual: readonly ActualModule[];
  readonly restarts: ReadonlyMap<string, RestartRecord>;
  /** Why a module's last command failed (a pull, a start), shown as its status description. */
  readonly commandErrors: ReadonlyMap<string, string>;
  readonly agentStartedAtMs: number;
  readonly nowMs: number;
  readonly options: RestartOptions;
  /** Set on shutdown: every module is reported `unknown` (Azure: "Agent is not running"). */
  readonly stopping?: boolean;
}

export type ReportedProperties = Record<string, unknown> & { modules: Record<string, Record<string, unknown>> };

export function buildReportedProperties(input: ReportedInput): ReportedProperties {
  const specs = new Map((input.deployment?.modules ?? []).map((m) => [m.id, m]));
  const actuals = new Map(input.actual.map((a) => [a.id, a]));
  const modules: Record<string, Record<string, unknown>> = {};
  for (const id of [...new Set([...specs.keys(), ...actuals.keys()])].sort()) {
    const spec = specs.get(id);
    const actual = actuals.get(id);
    const record = input.restarts.get(id) ?? NO_RESTARTS;
    const status = moduleStatus(spec, actual, record, input.nowMs, input.options);
    const commandError = input.commandErrors.get(id);
    modules[id] = {
      ...(spec === undefined ? { status: 'removed' } : desiredFields(spec)),
      runtimeStatus: input.stopping === true ? 'unknown' : status.runtimeStatus,
      statusDescription: input.stopping === true ? 'Agent is not running' : commandError === undefined ? status.statusDescription : `${status.statusDescription}; ${commandError}`,
      ...(actual?.exitCode === undefined ? {} : { exitCode: actual.exitCode }),
      restartCount: record.restartCount,
      ...time('lastStartTimeUtc', actual?.startedAtMs),
      ...time('lastExitTimeUtc', actual?.finishedAtMs),
      ...time('lastRestartTimeUtc', record.lastRestartAtMs),
    };
  }
  const agentEntry = { runtimeStatus: input.stopping === true ? 'unknown' : 'running', ...time('lastStartTimeUtc', input.agentStartedAtMs) };
  return {
    schemaVersion: '1.0',
    version: { version: input.version, build: '', commit: '' },
    lastDesiredVersion: input.lastDesiredVersion,
    lastDesiredStatus: { code: input.lastDesiredStatus.code, description: input.lastDesiredStatus.description },
    runtime: { type: input.runtime, platform: { os: platform(), architecture: arch(), version: release() } },
    systemModules: { edgeAgent: { type: input.runtime, ...agentEntry } },
    modules,
  };
}

function desiredFields(spec: ModuleSpec): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (spec.image !== undefined) settings.image = spec.image;
  if (spec.digest !== undefined) settings.digest = spec.digest;
  if (spec.createOptionsText !== '') Object.assign(settings, chunkCreateOptions(spec.createOptionsText));
  if (spec.process !== undefined) settings.process = { command: spec.process.command, args: spec.process.args, cwd: spec.process.cwd };
  return {
    type: spec.type,
    status: spec.status,
    restartPolicy: spec.restartPolicy,
    imagePullPolicy: spec.imagePullPolicy,
    ...(spec.startupOrder === DEFAULT_STARTUP_ORDER ? {} : { startupOrder: spec.startupOrder }),
    version: spec.version,
    settings,
    // Values are not reported: env often carries secrets, and the twin is visible to the cloud.
    env: Object.fromEntries(Object.keys(spec.env).map((name) => [name, {}])),
  };
}

function time(key: string, ms: number | undefined): Record<string, string> {
  return ms === undefined ? {} : { [key]: new Date(ms).toISOString() };
}

/**
 * JSON merge patch (RFC 7396) from `before` to `after`: what changed, removed keys as null —
 * the form twin reported-property updates take. Empty when nothing changed.
 */
export function reportedPatch(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isObject(value) && isObject(old)) {
      const sub = reportedPatch(old, value);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) patch[key] = value;
  }
  return patch;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
