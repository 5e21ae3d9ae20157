import { dirname } from 'node:path';
import { readCreateOptions } from './create-options.js';
import { DeploymentStatusCode, type DeploymentStatusCodeValue } from './deployment-status.js';
import type { DeploymentManifest, ManifestProblem } from './load-manifest.js';
import {
  configHashOf,
  DEFAULT_RESTART_POLICY,
  DEFAULT_STARTUP_ORDER,
  DESIRED_STATUSES,
  IMAGE_PULL_POLICIES,
  RESTART_POLICIES,
  type DesiredStatus,
  type ImagePullPolicy,
  type ModuleSpec,
  type RestartPolicy,
} from './module-spec.js';
import { readProcessSettings, type ProcessSettings } from './process-settings.js';

/**
 * Module-level validation of a deployment whose envelope passed (load-manifest.ts): every module's
 * fields, createOptions (chunks joined and parsed), env, registry credentials. Every problem is
 * reported at once with its JSON path; the result carries Azure's status code (400 here).
 */

export type RuntimeKind = 'process' | 'docker';

export interface RegistryCredential {
  readonly name: string;
  readonly address: string;
  readonly username: string;
  readonly password: string;
}

export interface Deployment {
  readonly manifest: DeploymentManifest;
  readonly registryCredentials: readonly RegistryCredential[];
  /** User modules in manifest order (edgeAgent and edgeHub are this process, not modules). */
  readonly modules: readonly ModuleSpec[];
}

export type DeploymentResult =
  | { readonly ok: true; readonly deployment: Deployment }
  | { readonly ok: false; readonly code: DeploymentStatusCodeValue; readonly problems: readonly ManifestProblem[] };

const AGENT = "modulesContent.$edgeAgent['properties.desired']";
/** Azure module ids: 1-128 of these characters, not starting with '$' (reserved for system modules). */
const MODULE_ID = /^[A-Za-z0-9\-:.+%_#*?!(),=@;']{1,128}$/;
/** A container is named after its module: Docker's name rule. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MODULE_KEYS = new Set(['version', 'type', 'status', 'restartPolicy', 'imagePullPolicy', 'startupOrder', 'settings', 'env', 'configuration']);

/**
 * `runtime` adds the checks of one module runtime: the process runtime needs settings.process,
 * the docker runtime settings.image and container-safe module ids. Without it (outpost check,
 * the hub) a module needs one of the two.
 */
export function validateDeployment(manifest: DeploymentManifest, runtime?: RuntimeKind): DeploymentResult {
  const problems: ManifestProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const agent = manifest.agent;
  const baseDir = dirname(manifest.file);

  const runtimeSection = agent.runtime as Record<string, unknown>;
  if (runtimeSection.type !== 'docker' && runtimeSection.type !== 'process') add(`${AGENT}.runtime.type`, `must be "docker" (or "process"), not ${JSON.stringify(runtimeSection.type)}`);
  const registryCredentials = readCredentials(runtimeSection.settings, `${AGENT}.runtime.settings`, add);

  const system = agent.systemModules as Record<string, unknown>;
  for (const [name, value] of Object.entries(system)) {
    if (!isObject(value)) add(`${AGENT}.systemModules.${name}`, 'must be an object');
    else if (name !== 'edgeAgent' && name !== 'edgeHub') add(`${AGENT}.systemModules.${name}`, 'unknown system module (only edgeAgent and edgeHub)');
    else if (value.status !== undefined && !DESIRED_STATUSES.includes(value.status as DesiredStatus)) add(`${AGENT}.systemModules.${name}.status`, `must be one of ${DESIRED_STATUSES.join(', ')}`);
  }

  const modules: ModuleSpec[] = [];
  for (const [id, value] of Object.entries((agent.modules as Record<string, unknown> | undefined) ?? {})) {
    const spec = readModule(id, value, `${AGENT}.modules.${id}`, baseDir, runtime, add);
    if (spec !== undefined) modules.push(spec);
  }
  if (problems.length > 0) return { ok: false, code: DeploymentStatusCode.ConfigFormatError, problems };
  return { ok: true, deployment: { manifest, registryCredentials, modules } };
}

function readModule(
  id: string,
  value: unknown,
  path: string,
  baseDir: string,
  runtime: RuntimeKind | undefined,
  add: (path: string, message: string) => void,
): ModuleSpec | undefined {
  const before = { count: 0 };
  const fail = (where: string, message: string) => {
    before.count++;
    add(`${path}${where}`, message);
  };
  if (!MODULE_ID.test(id) || id.startsWith('$')) fail('', 'module id must be 1-128 letters, digits or -:.+%_#*?!(),=@;\' and not start with $');
  else if (runtime === 'docker' && !CONTAINER_NAME.test(id)) fail('', 'the docker runtime names the container after the module: the id must match [a-zA-Z0-9][a-zA-Z0-9_.-]*');
  if (!isObject(value)) {
    fail('', 'must be an object');
    return undefined;
  }
  for (const key of Object.keys(value)) if (!MODULE_KEYS.has(key)) fail(`.${key}`, `unknown module field (allowed: ${[...MODULE_KEYS].join(', ')})`);

  const type = value.type;
  if (type !== 'docker' && type !== 'process') fail('.type', `required: "docker" (or "process"), not ${JSON.stringify(type)}`);
  const status = value.status;
  if (!DESIRED_STATUSES.includes(status as DesiredStatus)) fail('.status', `required: one of ${DESIRED_STATUSES.join(', ')}${status === undefined ? '' : `, not ${JSON.stringify(status)}`}`);
  const restartPolicy = value.restartPolicy ?? DEFAULT_RESTART_POLICY;
  if (!RESTART_POLICIES.includes(restartPolicy as RestartPolicy)) fail('.restartPolicy', `must be one of ${RESTART_POLICIES.join(', ')}, not ${JSON.stringify(restartPolicy)}`);
  const imagePullPolicy = value.imagePullPolicy ?? 'on-create';
  if (!IMAGE_PULL_POLICIES.includes(imagePullPolicy as ImagePullPolicy)) fail('.imagePullPolicy', `must be one of ${IMAGE_PULL_POLICIES.join(', ')}, not ${JSON.stringify(imagePullPolicy)}`);
  const startupOrder = value.startupOrder ?? DEFAULT_STARTUP_ORDER;
  if (!Number.isInteger(startupOrder) || (startupOrder as number) < 0 || (startupOrder as number) > DEFAULT_STARTUP_ORDER) fail('.startupOrder', 'must be an integer from 0 to 4294967295');
  const version = value.version ?? '';
  if (typeof version !== 'string') fail('.version', 'must be a string');

  const env: Record<string, string> = {};
  if (value.env !== undefined) {
    if (!isObject(value.env)) fail('.env', 'must be an object of NAME: {"value": "..."}');
    else {
      for (const [name, entry] of Object.entries(value.env)) {
        const v = isObject(entry) ? entry.value : undefined;
        if (name === '' || name.includes('=')) fail(`.env.${name}`, 'variable names must be non-empty and contain no "="');
        else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') env[name] = String(v);
        else fail(`.env.${name}`, 'must be {"value": "<string>"}');
      }
    }
  }

  let image: string | undefined;
  let digest: string | undefined;
  let createOptions: Readonly<Record<string, unknown>> = {};
  let createOptionsText = '';
  let process: ProcessSettings | undefined;
  const settings = value.settings;
  if (!isObject(settings)) fail('.settings', 'required object is missing');
  else {
    if (settings.image !== undefined) {
      if (typeof settings.image !== 'string' || settings.image.trim() === '') fail('.settings.image', 'must be a non-empty image name');
      else {
        const parsed = normalizeImage(settings.image.trim());
        if (parsed === undefined) fail('.settings.image', `not a valid image reference: ${JSON.stringify(settings.image)}`);
        else ({ image, digest } = parsed);
      }
    }
    if (settings.digest !== undefined) {
      if (typeof settings.digest !== 'string' || !DIGEST.test(settings.digest)) fail('.settings.digest', 'must be sha256:<64 lowercase hex digits>');
      else if (digest !== undefined && digest !== settings.digest) fail('.settings.digest', `differs from the digest pinned in settings.image (${digest})`);
      else digest = settings.digest;
    }
    const options = readCreateOptions(settings);
    if (options.ok) ({ options: createOptions, text: createOptionsText } = options);
    else fail(`.settings.${options.field}`, options.message);
    if (settings.process !== undefined) {
      const parsed = readProcessSettings(settings.process, baseDir);
      if (parsed.ok) process = parsed.settings;
      else fail(`.settings.process${parsed.field}`, parsed.message);
    }
    if (runtime === 'docker' && settings.image === undefined) fail('.settings.image', 'required by the docker runtime');
    if (runtime === 'process' && settings.process === undefined) fail('.settings.process', 'required by the process runtime (agent.runtime=process): {"command": …, "args": […]}');
    if (runtime === undefined && settings.image === undefined && settings.process === undefined) fail('.settings', 'needs settings.image (docker runtime) or settings.process (process runtime)');
  }
  if (before.count > 0) return undefined;
  const base = { type: type as string, version: version as string, image, digest, createOptions, env, process };
  return {
    ...base,
    id,
    status: status as DesiredStatus,
    restartPolicy: restartPolicy as RestartPolicy,
    imagePullPolicy: imagePullPolicy as ImagePullPolicy,
    startupOrder: startupOrder as number,
    createOptionsText,
    configHash: configHashOf(base),
  };
}

/** `[registry/]repo[:tag][@sha256:…]`; a missing tag becomes `:latest` (DockerConfig.ValidateAndGetImage). */
export function normalizeImage(text: string): { image: string; digest: string | undefined } | undefined {
  if (/\s/.test(text)) return undefined;
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const digest = at < 0 ? undefined : text.slice(at + 1);
  if (digest !== undefined && !DIGEST.test(digest)) return undefined;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._\-/:]*$/.test(name)) return undefined;
  const lastSlash = name.lastIndexOf('/');
  const hasTag = name.indexOf(':', lastSlash + 1) >= 0;
  if (digest !== undefined) return { image: `${name}@${digest}`, digest };
  return { image: hasTag ? name : `${name}:latest`, digest: undefined };
}

function readCredentials(settings: unknown, path: string, add: (path: string, message: string) => void): RegistryCredential[] {
  if (settings === undefined) return [];
  if (!isObject(settings)) {
    add(path, 'must be an object');
    return [];
  }
  const credentials = settings.registryCredentials;
  if (credentials === undefined) return [];
  if (!isObject(credentials)) {
    add(`${path}.registryCredentials`, 'must be an object of name to {username, password, address}');
    return [];
  }
  const out: RegistryCredential[] = [];
  for (const [name, entry] of Object.entries(credentials)) {
    if (!isObject(entry)) {
      add(`${path}.registryCredentials.${name}`, 'must be an object {username, password, address}');
      continue;
    }
    let ok = true;
    for (const key of ['username', 'password', 'address'] as const) {
      if (typeof entry[key] !== 'string' || entry[key] === '') {
        add(`${path}.registryCredentials.${name}.${key}`, 'required string is missing');
        ok = false;
      }
    }
    if (ok) out.push({ name, address: entry.address as string, username: entry.username as string, password: entry.password as string });
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
