import { readFileSync } from 'node:fs';
import { OutpostError, type ErrorCode } from '../../errors/index.js';
import { deploymentPolicyProblems } from '../../hub/auth/index.js';
import { deploymentBridgeProblems } from '../../hub/bridge/index.js';
import { DeploymentStatusCode, type DeploymentStatusCodeValue } from './deployment-status.js';
import { jsonErrorOffset } from './json-error-offset.js';

/**
 * Reads a deployment manifest as Azure writes it ({"modulesContent": {"$edgeAgent": …,
 * "$edgeHub": …}}) and checks its envelope: the parts every later stage relies on. Module-level
 * validation (types, restart policies, createOptions) is validate-deployment.ts, which builds on
 * this. Failures carry Azure's status code: 417 no deployment (missing or empty file), 412 an
 * unsupported schemaVersion, 400 anything else.
 */

export interface ManifestProblem {
  /** JSON path, e.g. "modulesContent.$edgeAgent['properties.desired'].schemaVersion". */
  readonly path: string;
  readonly message: string;
  /** A more precise code than OUTPOST_DEPLOYMENT_INVALID (an invalid broker policy). */
  readonly code?: ErrorCode;
  /** The offending line with a caret under the problem (an invalid route), for terminals. */
  readonly excerpt?: string;
}

export interface DeploymentManifest {
  readonly file: string;
  readonly agent: Readonly<Record<string, unknown>>;
  readonly hub: Readonly<Record<string, unknown>>;
  /** Module ids declared under $edgeAgent modules, in manifest order. */
  readonly moduleIds: readonly string[];
}

export type ManifestResult =
  | { ok: true; manifest: DeploymentManifest }
  | { ok: false; code: DeploymentStatusCodeValue; problems: ManifestProblem[] };

const AGENT = "modulesContent.$edgeAgent['properties.desired']";
const HUB = "modulesContent.$edgeHub['properties.desired']";

export function readManifest(file: string): ManifestResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail('', `cannot read the deployment manifest ${file} (${code ?? String(error)})`, code === 'ENOENT' ? DeploymentStatusCode.ConfigEmptyError : DeploymentStatusCode.ConfigFormatError);
  }
  return parseManifest(file, text);
}

/** The same checks on manifest text that did not come from `file` directly (outpost deploy). */
export function parseManifest(file: string, text: string): ManifestResult {
  if (text.trim() === '') return fail('', 'the deployment manifest is empty', DeploymentStatusCode.ConfigEmptyError);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return fail('', `not valid JSON: ${jsonPosition(text, error)}`);
  }
  return checkEnvelope(file, data);
}

export function checkEnvelope(file: string, data: unknown): ManifestResult {
  const problems: ManifestProblem[] = [];
  const content = objectAt(data, 'modulesContent');
  if (content === undefined) return fail('modulesContent', 'required object is missing');
  const agent = objectAt(objectAt(content, '$edgeAgent'), 'properties.desired');
  const hub = objectAt(objectAt(content, '$edgeHub'), 'properties.desired');
  if (agent === undefined) problems.push({ path: AGENT, message: 'required object is missing' });
  if (hub === undefined) problems.push({ path: HUB, message: 'required object is missing' });
  if (agent !== undefined) {
    // $edgeAgent: major 1 and at most 1.1 (Azure answers 412 otherwise).
    checkSchemaVersion(agent.schemaVersion, `${AGENT}.schemaVersion`, ['1.0', '1.1'], problems);
    for (const key of ['runtime', 'systemModules'] as const) {
      if (objectAt(agent, key) === undefined) problems.push({ path: `${AGENT}.${key}`, message: 'required object is missing' });
    }
    if (agent.modules !== undefined && objectAt(agent, 'modules') === undefined) {
      problems.push({ path: `${AGENT}.modules`, message: 'must be an object of module id to module' });
    }
  }
  if (hub !== undefined) {
    // $edgeHub: major 1, minor 0 to 3.
    checkSchemaVersion(hub.schemaVersion, `${HUB}.schemaVersion`, ['1.0', '1.1', '1.2', '1.3'], problems);
    if (hub.routes !== undefined && objectAt(hub, 'routes') === undefined) {
      problems.push({ path: `${HUB}.routes`, message: 'must be an object of route name to route' });
    }
    // The broker's authorization policy is all or nothing: an invalid one fails the deployment
    // (400), so `outpost deploy` says so at once and the policy in force stays (docs/security.md).
    for (const problem of deploymentPolicyProblems(hub)) problems.push({ path: `${HUB}.${problem.path}`, message: problem.message, code: 'OUTPOST_AUTH_POLICY_INVALID' });
    // The MQTT bridge's rules, likewise (docs/bridge.md).
    for (const problem of deploymentBridgeProblems(hub)) problems.push({ path: `${HUB}.${problem.path}`, message: problem.message, code: 'OUTPOST_BRIDGE_CONFIG_INVALID' });
  }
  if (problems.length > 0 || agent === undefined || hub === undefined) {
    // Azure answers 412 for a schema version it does not know, even when other fields are wrong too.
    const code = problems.some((p) => p.path.endsWith('.schemaVersion')) ? DeploymentStatusCode.InvalidSchemaVersion : DeploymentStatusCode.ConfigFormatError;
    return { ok: false, code, problems };
  }
  return { ok: true, manifest: { file, agent, hub, moduleIds: Object.keys(objectAt(agent, 'modules') ?? {}) } };
}

function checkSchemaVersion(value: unknown, path: string, allowed: readonly string[], problems: ManifestProblem[]): void {
  if (typeof value !== 'string') {
    problems.push({ path, message: `required string is missing (one of ${allowed.join(', ')})` });
    return;
  }
  const match = /^(\d+)\.(\d+)(?:\.0)?$/.exec(value.trim());
  if (match === null || !allowed.includes(`${match[1]}.${match[2]}`)) {
    problems.push({ path, message: `unsupported schema version "${value}" (expected one of ${allowed.join(', ')})` });
  }
}

function objectAt(parent: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof parent !== 'object' || parent === null) return undefined;
  const value = (parent as Record<string, unknown>)[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function fail(path: string, message: string, code: DeploymentStatusCodeValue = DeploymentStatusCode.ConfigFormatError): ManifestResult {
  return { ok: false, code, problems: [{ path, message }] };
}

/** Node's JSON.parse often gives no position; operators need a line and column. */
function jsonPosition(text: string, error: unknown): string {
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/, (?:\.\.\.)?".*$/s, '').replace(/ in JSON at position \d+.*$/, '');
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return reason;
  const before = text.slice(0, offset);
  return `${reason} at line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
}

export function manifestError(file: string, problems: readonly ManifestProblem[], statusCode?: DeploymentStatusCodeValue): OutpostError {
  const lines = problems.map((p) => `  - ${p.path === '' ? '' : `${p.path}: `}${p.message}${p.code === undefined ? '' : ` (${p.code})`}`);
  const status = statusCode === undefined ? '' : ` (status ${statusCode})`;
  return new OutpostError('OUTPOST_DEPLOYMENT_INVALID', `deployment manifest ${file} is invalid${status}:\n${lines.join('\n')}`, {
    details: { file, problems, ...(statusCode === undefined ? {} : { statusCode }) },
  });
}
