import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log/index.js';
import { deviceChain, deviceScopeOf, scopePage, scopeTarget, type AuthResult, type ScopeSource } from '../../auth/index.js';
import { sendJson } from '../../../http/index.js';

export interface DeviceScopeRouteOptions {
  /** The identity registry: who is below whom, and their keys. */
  readonly registry: ScopeSource;
  /** Verifies a SAS token for a device or module (IdentityAuthenticator.verifySasToken). */
  readonly verifySasToken: (token: string, deviceId: string, moduleId?: string) => AuthResult;
  readonly logger: Logger;
}

/** The path prefix of the route; the rest is `{edgeDeviceId}/modules/$edgeHub/devicesAndModulesInDeviceScope`. */
export const DEVICE_SCOPE_ROUTE_PREFIX = '/devices/';

const SAS_PREFIX = 'SharedAccessSignature ';
const EDGE_HUB_MODULE = '$edgeHub';
const SCOPE_OPERATION = 'devicesAndModulesInDeviceScope';
/** One identity of the scope (IoT Hub's `deviceAndModuleInDeviceScope`, DeviceScopeApiClient.GetIdentity). */
const TARGET_OPERATION = 'deviceAndModuleInDeviceScope';
const HTTP_OK = 200;
const HTTP_BAD_REQUEST = 400;
const HTTP_UNAUTHORIZED = 401;
const HTTP_FORBIDDEN = 403;
const HTTP_NOT_FOUND = 404;
/** IoT Hub's largest page (DeviceScopeApiClient asks for 1000). */
const MAX_PAGE_DEVICES = 1000;
const SCOPE_API_VERSION = '2018-08-30-preview';

/**
 * The device scope of a child edge device, as IoT Hub serves it to edge hub (notes 5.2,
 * `DeviceScopeApiClient.cs`):
 *
 *   GET /devices/{edgeDeviceId}/modules/$edgeHub/devicesAndModulesInDeviceScope[?deviceCount=…&continuationToken=…&api-version=…]
 *   Authorization: SharedAccessSignature …   (the edge device's token, or its $edgeHub module's)
 *
 * Answers `{devices, modules, continuationLink}` (auth/device-scope.ts): pages of at most
 * `deviceCount` devices (default and most MAX_PAGE_DEVICES) with their modules, from the offset in
 * `continuationToken`; `continuationLink` is the next page's path, null on the last. Only that edge
 * device may ask (401 otherwise), and only if it is an edge device below this gateway (403). The
 * answer holds keys: it is never logged.
 *
 *   GET /devices/{edgeDeviceId}/modules/$edgeHub/deviceAndModuleInDeviceScope?targetDeviceId=…&targetModuleId=…&api-version=…
 *
 * answers the same shape for one identity: the target device if it is in the scope, and its
 * module if one is named and in the scope (both lists empty when not: nothing to add).
 */
export function deviceScopeRoute(options: DeviceScopeRouteOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const { status, body } = answer(request, options);
    sendJson(response, status, body);
  };
}

function answer(request: IncomingMessage, options: DeviceScopeRouteOptions): { status: number; body: unknown } {
  const parsed = parseEdgeDevice((request.url ?? '/').split('?', 1)[0]!);
  const edgeDeviceId = parsed?.edgeDeviceId;
  if (parsed === undefined || edgeDeviceId === undefined) return { status: HTTP_NOT_FOUND, body: { message: `no such endpoint: use ${DEVICE_SCOPE_ROUTE_PREFIX}{edgeDeviceId}/modules/$edgeHub/${SCOPE_OPERATION}` } };
  const authorization = request.headers.authorization;
  const refused = (status: number, reason: string) => {
    options.logger.warn({ event: 'identity.scope_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', identity: edgeDeviceId, reason, remoteAddress: request.socket.remoteAddress }, 'device scope request refused');
    return { status, body: { message: reason } };
  };
  if (authorization === undefined || !authorization.startsWith(SAS_PREFIX)) return refused(HTTP_UNAUTHORIZED, 'the request needs an Authorization: SharedAccessSignature header (the edge device\'s token)');
  const asDevice = options.verifySasToken(authorization, edgeDeviceId);
  const result = asDevice.ok ? asDevice : options.verifySasToken(authorization, edgeDeviceId, EDGE_HUB_MODULE);
  if (!result.ok || result.actor !== undefined) return refused(HTTP_UNAUTHORIZED, `the token does not authenticate edge device ${edgeDeviceId}`);
  const record = options.registry.get(edgeDeviceId);
  const chain = deviceChain(options.registry, edgeDeviceId);
  if (record?.edge !== true || chain === undefined || chain.length < 2) return refused(HTTP_FORBIDDEN, `${edgeDeviceId} is not an edge device below this gateway`);
  const query = new URLSearchParams((request.url ?? '').split('?')[1] ?? '');
  if (parsed.operation === TARGET_OPERATION) {
    const targetDeviceId = query.get('targetDeviceId') ?? '';
    if (targetDeviceId === '') return { status: HTTP_BAD_REQUEST, body: { message: 'targetDeviceId is required' } };
    const targetModuleId = query.get('targetModuleId') || undefined;
    const target = scopeTarget(options.registry, edgeDeviceId, targetDeviceId, targetModuleId);
    options.logger.info({ event: 'identity.scope_served', identity: edgeDeviceId, target: targetModuleId === undefined ? targetDeviceId : `${targetDeviceId}/${targetModuleId}`, devices: target.devices.length, modules: target.modules.length }, 'one identity of the device scope served to a child edge device');
    return { status: HTTP_OK, body: target };
  }
  const asked = Number.parseInt(query.get('deviceCount') ?? '', 10);
  const deviceCount = Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, MAX_PAGE_DEVICES) : MAX_PAGE_DEVICES;
  const from = Number.parseInt(query.get('continuationToken') ?? '', 10);
  const offset = Number.isSafeInteger(from) && from > 0 ? from : 0;
  const path = `${DEVICE_SCOPE_ROUTE_PREFIX}${encodeURIComponent(edgeDeviceId)}/modules/${encodeURIComponent(EDGE_HUB_MODULE)}/${SCOPE_OPERATION}`;
  const page = scopePage(deviceScopeOf(options.registry, edgeDeviceId), offset, deviceCount, (next) => `${path}?deviceCount=${deviceCount}&continuationToken=${next}&api-version=${SCOPE_API_VERSION}`);
  options.logger.info({ event: 'identity.scope_served', identity: edgeDeviceId, devices: page.devices.length, modules: page.modules.length, offset, more: page.continuationLink !== null }, 'device scope served to a child edge device');
  return { status: HTTP_OK, body: page };
}

function parseEdgeDevice(path: string): { edgeDeviceId: string; operation: string } | undefined {
  if (!path.startsWith(DEVICE_SCOPE_ROUTE_PREFIX)) return undefined;
  let parts: string[];
  try {
    parts = path.slice(DEVICE_SCOPE_ROUTE_PREFIX.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const operation = parts[3];
  const known = operation === SCOPE_OPERATION || operation === TARGET_OPERATION;
  return parts.length === 4 && parts[0] !== '' && parts[1] === 'modules' && parts[2] === EDGE_HUB_MODULE && known ? { edgeDeviceId: parts[0]!, operation: operation! } : undefined;
}
