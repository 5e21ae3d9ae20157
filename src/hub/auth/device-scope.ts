/**
 * The device scope of an edge device (notes 5.2, `DeviceScopeApiClient.cs`): every identity whose
 * chain passes through it (itself, the devices below it at any depth, and their modules), with
 * what authenticates them. A parent serves it to a child edge device, which keeps it in its own
 * registry to authenticate those identities itself, also while the parent is unreachable.
 *
 * The JSON is IoT Hub's `ScopeResult` (`{devices, modules, continuationLink}`), each device in the
 * service SDK's shape (`authentication.symmetricKey`, `capabilities.iotEdge`, `deviceScope` and
 * `parentScopes` as `ms-azure-iot-edge://{id}-{generationId}`), so a parent's answer reads like
 * IoT Hub's. The result holds keys: never log it.
 */
import { deviceChain, type ChainLookup } from './auth-chain.js';
import type { IdentityAuthentication, IdentityRecord } from './identity-record.js';

export interface ScopeDevice {
  readonly deviceId: string;
  readonly generationId: string;
  readonly status: 'enabled' | 'disabled';
  readonly authentication: ScopeAuthentication;
  readonly capabilities: { readonly iotEdge: boolean };
  readonly deviceScope?: string;
  readonly parentScopes: readonly string[];
}

export interface ScopeModule {
  readonly deviceId: string;
  readonly moduleId: string;
  readonly generationId: string;
  readonly status: 'enabled' | 'disabled';
  readonly authentication: ScopeAuthentication;
}

export interface ScopeAuthentication {
  readonly type: 'sas' | 'selfSigned' | 'certificateAuthority' | 'none';
  readonly symmetricKey?: { readonly primaryKey: string; readonly secondaryKey: string };
  readonly x509Thumbprint?: { readonly primaryThumbprint: string; readonly secondaryThumbprint?: string };
}

export interface ScopeResult {
  readonly devices: readonly ScopeDevice[];
  readonly modules: readonly ScopeModule[];
  /** The next page: its path and query (the GET API) or its token (the nested POST API); null on the last page (scopePage). */
  readonly continuationLink: string | null;
}

/** What the scope is computed from: the registry's records and relations. */
export interface ScopeSource extends ChainLookup {
  list(): IdentityRecord[];
}

/**
 * The four operations, by the API that has them: IoT Hub's first scope API (2018-08-30-preview,
 * GET, what `DeviceScopeApiClient` calls) and the nested one (2020-06-30-preview, POST with a JSON
 * body naming an auth chain, what Azure's edge hub calls from version 1.2 on, of IoT Hub and of
 * a parent edge hub alike: `NestedDeviceScopeApiClient`).
 */
export const ScopeOperation = {
  /** GET: the whole scope of the calling edge device, in pages. */
  Scope: 'devicesAndModulesInDeviceScope',
  /** GET: one identity of that scope. */
  Target: 'deviceAndModuleInDeviceScope',
  /** POST: the whole scope of the edge device the auth chain starts with, in pages. */
  NestedScope: 'devicesAndModulesInTargetDeviceScope',
  /** POST: one identity, on behalf of the edge device the auth chain starts with. */
  OnBehalfOf: 'getDeviceAndModuleOnBehalfOf',
} as const;

export const SCOPE_API_VERSION = '2018-08-30-preview';
export const NESTED_SCOPE_API_VERSION = '2020-06-30-preview';

const SCOPE_PREFIX = 'ms-azure-iot-edge://';

function scopeName(record: IdentityRecord): string {
  return `${SCOPE_PREFIX}${record.deviceId}-${record.generationId}`;
}

function toScopeAuthentication(auth: IdentityAuthentication): ScopeAuthentication {
  if (auth.type === 'sas') return { type: 'sas', symmetricKey: { primaryKey: auth.primaryKey, secondaryKey: auth.secondaryKey } };
  if (auth.type === 'selfSigned') return { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: auth.primaryThumbprint, ...(auth.secondaryThumbprint === undefined ? {} : { secondaryThumbprint: auth.secondaryThumbprint }) } };
  return { type: auth.type };
}

/** The scope of `edgeDeviceId` in `source`: itself, the devices whose chain passes through it, and their modules. */
export function deviceScopeOf(source: ScopeSource, edgeDeviceId: string): ScopeResult {
  const records = source.list();
  const inScope = new Set<string>();
  for (const record of records) {
    if (record.moduleId !== undefined || record.deviceId === source.edgeDeviceId) continue;
    if (deviceChain(source, record.deviceId)?.includes(edgeDeviceId) === true) inScope.add(record.deviceId);
  }
  const devices: ScopeDevice[] = [];
  const modules: ScopeModule[] = [];
  for (const record of records) {
    if (!inScope.has(record.deviceId)) continue;
    if (record.moduleId !== undefined) modules.push(toScopeModule(record, record.moduleId));
    else devices.push(toScopeDevice(source, record));
  }
  return { devices, modules, continuationLink: null };
}

function toScopeModule(record: IdentityRecord, moduleId: string): ScopeModule {
  return { deviceId: record.deviceId, moduleId, generationId: record.generationId, status: record.status, authentication: toScopeAuthentication(record.authentication) };
}

function toScopeDevice(source: ChainLookup, record: IdentityRecord): ScopeDevice {
  const parent = record.parentDeviceId === undefined ? undefined : source.get(record.parentDeviceId);
  return {
    deviceId: record.deviceId,
    generationId: record.generationId,
    status: record.status,
    authentication: toScopeAuthentication(record.authentication),
    capabilities: { iotEdge: record.edge === true },
    ...(record.edge === true ? { deviceScope: scopeName(record) } : {}),
    parentScopes: parent === undefined ? [] : [scopeName(parent)],
  };
}

/**
 * One page of a scope, as IoT Hub pages it: at most `deviceCount` devices from `offset` (the
 * continuation token), with the modules of those devices, and the link to the next page (`path`
 * with the next offset) or null on the last. The order is the registry's, so pages do not overlap.
 */
export function scopePage(scope: ScopeResult, offset: number, deviceCount: number, nextPath: (offset: number) => string): ScopeResult {
  const devices = scope.devices.slice(offset, offset + deviceCount);
  const ids = new Set(devices.map((d) => d.deviceId));
  const modules = scope.modules.filter((m) => ids.has(m.deviceId));
  const next = offset + devices.length;
  return { devices, modules, continuationLink: next < scope.devices.length ? nextPath(next) : null };
}

/** The edge devices' scope names (`ms-azure-iot-edge://{deviceId}-{generationId}`) among `records`, with their device ids. */
export function scopeOwners(records: readonly IdentityRecord[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const record of records) if (record.edge === true && record.moduleId === undefined) owners.set(scopeName(record), record.deviceId);
  return owners;
}

/**
 * One identity of the scope of `edgeDeviceId` (`deviceAndModuleInDeviceScope`, what IoT Hub
 * answers for a target): the device if it is in that scope, and the module asked for if it is —
 * looked up directly, not by building the whole scope.
 */
export function scopeTarget(source: ScopeSource, edgeDeviceId: string, deviceId: string, moduleId: string | undefined): ScopeResult {
  const none: ScopeResult = { devices: [], modules: [], continuationLink: null };
  const record = source.get(deviceId);
  if (record === undefined || deviceId === source.edgeDeviceId || deviceChain(source, deviceId)?.includes(edgeDeviceId) !== true) return none;
  const module = moduleId === undefined ? undefined : source.get(deviceId, moduleId);
  return { devices: [toScopeDevice(source, record)], modules: module === undefined ? [] : [toScopeModule(module, moduleId!)], continuationLink: null };
}

/**
 * The registry records of a scope received from the parent, for the edge device `edgeDeviceId`
 * (this one): its own record and modules are left out (this gateway keeps its own), each parent
 * scope is resolved to the edge device that owns it — in the answer, or among `known` (the
 * registry's, for an answer about one identity). Entries that cannot be read are named in
 * `problems` (ids only, never keys); the registry checks the records themselves.
 */
export function recordsFromScope(value: unknown, edgeDeviceId: string, known: ReadonlyMap<string, string> = new Map()): { readonly records: IdentityRecord[]; readonly problems: string[] } {
  const problems: string[] = [];
  const records: IdentityRecord[] = [];
  if (typeof value !== 'object' || value === null || !Array.isArray((value as ScopeResult).devices)) return { records, problems: ['the answer is not a device scope ({devices, modules})'] };
  const result = value as { devices: unknown[]; modules?: unknown[] };
  const owners = new Map<string, string>(known);
  for (const device of result.devices) {
    const d = device as Partial<ScopeDevice>;
    if (typeof d?.deviceScope === 'string' && typeof d.deviceId === 'string') owners.set(d.deviceScope, d.deviceId);
  }
  for (const device of result.devices) {
    const d = device as Partial<ScopeDevice>;
    if (typeof d?.deviceId !== 'string') {
      problems.push('a device without a deviceId');
      continue;
    }
    if (d.deviceId === edgeDeviceId) continue;
    const parentScope = Array.isArray(d.parentScopes) ? d.parentScopes[0] : undefined;
    // This edge device's own scope resolves even when the answer leaves its record out.
    const parent = typeof parentScope !== 'string' ? undefined : owners.get(parentScope) ?? (parentScope.startsWith(`${SCOPE_PREFIX}${edgeDeviceId}-`) ? edgeDeviceId : undefined);
    if (parent === undefined) {
      problems.push(`${d.deviceId}: its parent scope is not in the answer`);
      continue;
    }
    records.push({
      deviceId: d.deviceId,
      status: d.status === 'disabled' ? 'disabled' : 'enabled',
      authentication: fromScopeAuthentication(d.authentication),
      parentDeviceId: parent,
      ...(d.capabilities?.iotEdge === true ? { edge: true } : {}),
      generationId: String(d.generationId ?? ''),
      source: 'upstream',
    });
  }
  for (const module of Array.isArray(result.modules) ? result.modules : []) {
    const m = module as Partial<ScopeModule>;
    if (typeof m?.deviceId !== 'string' || typeof m.moduleId !== 'string') {
      problems.push('a module without a deviceId and moduleId');
      continue;
    }
    if (m.deviceId === edgeDeviceId) continue;
    records.push({ deviceId: m.deviceId, moduleId: m.moduleId, status: m.status === 'disabled' ? 'disabled' : 'enabled', authentication: fromScopeAuthentication(m.authentication), generationId: String(m.generationId ?? ''), source: 'upstream' });
  }
  return { records, problems };
}

/** Back to the registry's shape; whatever is malformed is left for the registry's checks to refuse. */
function fromScopeAuthentication(value: ScopeAuthentication | undefined): IdentityAuthentication {
  const auth = value ?? { type: 'none' as const };
  if (auth.type === 'sas') return { type: 'sas', primaryKey: String(auth.symmetricKey?.primaryKey ?? ''), secondaryKey: String(auth.symmetricKey?.secondaryKey ?? '') };
  if (auth.type === 'selfSigned') {
    const secondary = auth.x509Thumbprint?.secondaryThumbprint;
    return { type: 'selfSigned', primaryThumbprint: String(auth.x509Thumbprint?.primaryThumbprint ?? ''), ...(typeof secondary === 'string' ? { secondaryThumbprint: secondary } : {}) };
  }
  return { type: auth.type === 'certificateAuthority' ? 'certificateAuthority' : 'none' };
}
