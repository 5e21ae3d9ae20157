import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log/index.js';
import { deviceChain, deviceScopeOf, SCOPE_API_VERSION, ScopeOperation, scopePage, scopeTarget, type AuthResult, type ScopeResult, type ScopeSource } from '../../auth/index.js';
import { readLimitedBody, sendJson } from '../../../http/index.js';

export interface DeviceScopeRouteOptions {
  /** The identity registry: who is below whom, and their keys. */
  readonly registry: ScopeSource;
  /** Verifies a SAS token for a device or module (IdentityAuthenticator.verifySasToken). */
  readonly verifySasToken: (token: string, deviceId: string, moduleId?: string) => AuthResult;
  /**
   * With an upstream: asks it for an identity not in the registry before a one-identity call is
   * answered (DeviceScopeSync.refreshForUnknown: rate-limited, bounded wait), so a device
   * registered at the top of a hierarchy reaches a gateway two levels down at once.
   */
  readonly lookUpUnknown?: (deviceId: string, moduleId: string | undefined) => Promise<void>;
  readonly logger: Logger;
}

/** The path prefix of the route; the rest is `{edgeDeviceId}/modules/$edgeHub/{operation}`. */
export const DEVICE_SCOPE_ROUTE_PREFIX = '/devices/';

const OPERATION_METHOD: Readonly<Record<string, 'GET' | 'POST'>> = {
  [ScopeOperation.Scope]: 'GET',
  [ScopeOperation.Target]: 'GET',
  [ScopeOperation.NestedScope]: 'POST',
  [ScopeOperation.OnBehalfOf]: 'POST',
};

const SAS_PREFIX = 'SharedAccessSignature ';
const EDGE_HUB_MODULE = '$edgeHub';
/** An auth chain's ids are separated by this (Azure's `AuthChainHelpers`). */
const AUTH_CHAIN_SEPARATOR = ';';
/** The nested API's request bodies are a few hundred bytes; anything past this is refused. */
const MAX_BODY_BYTES = 16 * 1024;
/** Far deeper than any gateway hierarchy (Azure allows 5 levels). */
const MAX_AUTH_CHAIN_IDS = 16;
const HttpStatus = { Ok: 200, BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, PayloadTooLarge: 413, InternalError: 500 } as const;
/** IoT Hub's largest page (DeviceScopeApiClient asks for 1000). */
const MAX_PAGE_DEVICES = 1000;

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The device scope of a child edge device, as IoT Hub serves it to edge hub (notes 5.2), in both
 * of its APIs. Every call is signed by the calling edge device (its own token or its `$edgeHub`
 * module's); only an edge device below this gateway may ask (401 or 403 otherwise). The answers hold
 * keys: they are never logged.
 *
 *   GET  /devices/{edge}/modules/$edgeHub/devicesAndModulesInDeviceScope[?deviceCount=…&continuationToken=…]
 *   GET  /devices/{edge}/modules/$edgeHub/deviceAndModuleInDeviceScope?targetDeviceId=…&targetModuleId=…
 *   POST /devices/{edge}/modules/$edgeHub/devicesAndModulesInTargetDeviceScope   {"authChain":…, "pageSize":…, "continuationLink":…}
 *   POST /devices/{edge}/modules/$edgeHub/getDeviceAndModuleOnBehalfOf           {"authChain":…, "targetDeviceId":…, "targetModuleId":…}
 *
 * The scope calls answer `{devices, modules, continuationLink}` (auth/device-scope.ts): pages of at
 * most `deviceCount` / `pageSize` devices (default and most MAX_PAGE_DEVICES) with their modules;
 * `continuationLink` leads to the next page (the GET's next path; the POST's token, sent back as
 * the body's `continuationLink`), null on the last. The nested scope call asks for the scope of
 * the edge device its auth chain starts with — the caller itself, or an edge device below it that
 * it asks for — and the chain this gateway knows for that device must pass through the caller.
 * The one-identity calls answer the same shape holding the device if it is in the scope, and its
 * module if one is named and in the scope (both lists empty when not: nothing to add); an identity
 * not here is first asked of this gateway's own upstream, when it has one (`lookUpUnknown`), as
 * Azure's edge hub does.
 */
export function deviceScopeRoute(options: DeviceScopeRouteOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    answer(request, options).then(
      ({ status, body }) => sendJson(response, status, body),
      (error: unknown) => {
        options.logger.error({ event: 'identity.scope_failed', code: 'OUTPOST_INTERNAL', err: error }, 'a device scope request failed');
        sendJson(response, HttpStatus.InternalError, { message: 'internal error' });
      },
    );
  };
}

async function answer(request: IncomingMessage, options: DeviceScopeRouteOptions): Promise<Answer> {
  const parsed = parseRoute((request.url ?? '/').split('?', 1)[0]!);
  if (parsed === undefined || OPERATION_METHOD[parsed.operation] !== request.method) {
    return { status: HttpStatus.NotFound, body: { message: `no such endpoint: use ${DEVICE_SCOPE_ROUTE_PREFIX}{edgeDeviceId}/modules/$edgeHub/{${Object.values(ScopeOperation).join('|')}}` } };
  }
  const { edgeDeviceId, operation } = parsed;
  const refused = (status: number, reason: string): Answer => {
    options.logger.warn({ event: 'identity.scope_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', identity: edgeDeviceId, operation, reason, remoteAddress: request.socket.remoteAddress }, 'device scope request refused');
    return { status, body: { message: reason } };
  };
  const authorization = request.headers.authorization;
  if (authorization === undefined || !authorization.startsWith(SAS_PREFIX)) return refused(HttpStatus.Unauthorized, 'the request needs an Authorization: SharedAccessSignature header (the edge device\'s token)');
  const asDevice = options.verifySasToken(authorization, edgeDeviceId);
  const result = asDevice.ok ? asDevice : options.verifySasToken(authorization, edgeDeviceId, EDGE_HUB_MODULE);
  if (!result.ok || result.actor !== undefined) return refused(HttpStatus.Unauthorized, `the token does not authenticate edge device ${edgeDeviceId}`);
  if (!isEdgeBelow(options.registry, edgeDeviceId)) return refused(HttpStatus.Forbidden, `${edgeDeviceId} is not an edge device below this gateway`);
  const query = new URLSearchParams((request.url ?? '').split('?')[1] ?? '');
  const served = (fields: Record<string, unknown>, body: ScopeResult): Answer => {
    options.logger.info({ event: 'identity.scope_served', identity: edgeDeviceId, operation, ...fields, devices: body.devices.length, modules: body.modules.length }, 'device scope served to a child edge device');
    return { status: HttpStatus.Ok, body };
  };

  if (operation === ScopeOperation.Target) {
    const targetDeviceId = query.get('targetDeviceId') ?? '';
    if (targetDeviceId === '') return { status: HttpStatus.BadRequest, body: { message: 'targetDeviceId is required' } };
    const targetModuleId = query.get('targetModuleId') || undefined;
    const lookedUp = await lookUpIfUnknown(options, targetDeviceId, targetModuleId);
    return served({ target: identityKey(targetDeviceId, targetModuleId), lookedUp }, scopeTarget(options.registry, edgeDeviceId, targetDeviceId, targetModuleId));
  }
  if (operation === ScopeOperation.Scope) {
    const deviceCount = pageSizeOf(query.get('deviceCount'));
    const offset = offsetOf(query.get('continuationToken'));
    const path = `${DEVICE_SCOPE_ROUTE_PREFIX}${encodeURIComponent(edgeDeviceId)}/modules/${encodeURIComponent(EDGE_HUB_MODULE)}/${ScopeOperation.Scope}`;
    const page = scopePage(deviceScopeOf(options.registry, edgeDeviceId), offset, deviceCount, (next) => `${path}?deviceCount=${deviceCount}&continuationToken=${next}&api-version=${SCOPE_API_VERSION}`);
    return served({ offset, more: page.continuationLink !== null }, page);
  }

  const text = await readLimitedBody(request, MAX_BODY_BYTES);
  if (text === undefined) return { status: HttpStatus.PayloadTooLarge, body: { message: `the request body is larger than ${MAX_BODY_BYTES} bytes` } };
  const body = parseBody(text);
  if (typeof body === 'string') return { status: HttpStatus.BadRequest, body: { message: body } };
  const chain = parseAuthChain(body.authChain);
  if (typeof chain === 'string') return { status: HttpStatus.BadRequest, body: { message: chain } };
  // The edge device the request is for: the first of the chain (the caller, or one below it).
  const forEdge = chain[0]!;
  if (forEdge !== edgeDeviceId && !(isEdgeBelow(options.registry, forEdge) && deviceChain(options.registry, forEdge)!.includes(edgeDeviceId))) {
    return refused(HttpStatus.Unauthorized, `the auth chain names ${forEdge}, which is not ${edgeDeviceId} or an edge device below it here`);
  }

  if (operation === ScopeOperation.OnBehalfOf) {
    const targetDeviceId = typeof body.targetDeviceId === 'string' ? body.targetDeviceId : '';
    if (targetDeviceId === '') return { status: HttpStatus.BadRequest, body: { message: 'targetDeviceId is required' } };
    const targetModuleId = typeof body.targetModuleId === 'string' && body.targetModuleId !== '' ? body.targetModuleId : undefined;
    const lookedUp = await lookUpIfUnknown(options, targetDeviceId, targetModuleId);
    return served({ forEdge, target: identityKey(targetDeviceId, targetModuleId), lookedUp }, scopeTarget(options.registry, forEdge, targetDeviceId, targetModuleId));
  }
  const pageSize = pageSizeOf(typeof body.pageSize === 'number' ? String(body.pageSize) : null);
  const offset = offsetOf(typeof body.continuationLink === 'string' ? body.continuationLink : null);
  const page = scopePage(deviceScopeOf(options.registry, forEdge), offset, pageSize, (next) => String(next));
  return served({ forEdge, offset, more: page.continuationLink !== null }, page);
}

/** Asks the upstream for the identity when it is not here (and there is an upstream); whether it asked. */
async function lookUpIfUnknown(options: DeviceScopeRouteOptions, deviceId: string, moduleId: string | undefined): Promise<boolean> {
  const { registry, lookUpUnknown } = options;
  if (lookUpUnknown === undefined) return false;
  if (registry.get(deviceId) !== undefined && (moduleId === undefined || registry.get(deviceId, moduleId) !== undefined)) return false;
  await lookUpUnknown(deviceId, moduleId);
  return true;
}

/** Whether `deviceId` is an edge device with a chain up to this gateway (not this gateway itself). */
function isEdgeBelow(registry: ScopeSource, deviceId: string): boolean {
  const chain = deviceChain(registry, deviceId);
  return registry.get(deviceId)?.edge === true && chain !== undefined && chain.length >= 2;
}

function identityKey(deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

function pageSizeOf(text: string | null): number {
  const asked = Number.parseInt(text ?? '', 10);
  return Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, MAX_PAGE_DEVICES) : MAX_PAGE_DEVICES;
}

function offsetOf(text: string | null): number {
  const from = Number.parseInt(text ?? '', 10);
  return Number.isSafeInteger(from) && from > 0 ? from : 0;
}

/** The nested API's JSON body, or why it cannot be read. */
function parseBody(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the request body is not JSON';
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : 'the request body is not a JSON object';
}

/** `authChain` ("leaf;…;caller") as its ids, or why it is not one. */
function parseAuthChain(value: unknown): string[] | string {
  if (typeof value !== 'string' || value === '') return 'authChain is required (the edge device ids from the one asked for up to the caller, separated by ";")';
  const ids = value.split(AUTH_CHAIN_SEPARATOR);
  if (ids.length > MAX_AUTH_CHAIN_IDS || ids.some((id) => id === '')) return 'authChain is not a list of device ids separated by ";"';
  return ids;
}

function parseRoute(path: string): { edgeDeviceId: string; operation: string } | undefined {
  if (!path.startsWith(DEVICE_SCOPE_ROUTE_PREFIX)) return undefined;
  let parts: string[];
  try {
    parts = path.slice(DEVICE_SCOPE_ROUTE_PREFIX.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const operation = parts[3];
  const known = operation !== undefined && Object.hasOwn(OPERATION_METHOD, operation);
  return parts.length === 4 && parts[0] !== '' && parts[1] === 'modules' && parts[2] === EDGE_HUB_MODULE && known ? { edgeDeviceId: parts[0]!, operation: operation! } : undefined;
}
