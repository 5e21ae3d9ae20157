import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log/index.js';
import type { AuthResult } from '../../auth/index.js';
import { MethodHttpStatus, MethodLimits, methodError, parseMethodCall, type MethodAnswer, type MethodService } from '../../methods/index.js';
import { readLimitedBody, sendJson } from '../../../http/index.js';

export interface MethodsRouteOptions {
  readonly edgeDeviceId: string;
  readonly methods: MethodService;
  /** Verifies the caller's SAS token for `deviceId/moduleId` (IdentityAuthenticator.verifySasToken). */
  readonly verifySasToken: (token: string, deviceId: string, moduleId: string) => AuthResult;
  readonly logger: Logger;
}

/** The path prefix of the route; the rest is `{device}/methods` or `{device}/modules/{module}/methods`. */
export const METHODS_ROUTE_PREFIX = '/twins/';

const SAS_PREFIX = 'SharedAccessSignature ';
// Room for the 128 KiB payload and the rest of the body; anything larger is refused unread.
const MAX_BODY_BYTES = 2 * MethodLimits.maxPayloadBytes;

/**
 * The local direct-method API as the Azure device SDK calls it (ModuleClient.invokeMethod):
 *
 *   POST /twins/{deviceId}/methods
 *   POST /twins/{deviceId}/modules/{moduleId}/methods
 *   Authorization: SharedAccessSignature …   (the calling module's token)
 *   x-ms-edge-moduleId: {edgeDeviceId}/{callerModuleId}
 *   body {methodName, payload, responseTimeoutInSeconds, connectTimeoutInSeconds}
 *
 * Only modules of this edge device may call (401 otherwise); what a call means is MethodService's.
 */
export function methodsRoute(options: MethodsRouteOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void answer(request, options).then(
      (result) => {
        if (!response.destroyed) sendJson(response, result.httpStatus, result.body);
      },
      (error: unknown) => {
        options.logger.error({ event: 'method.http_failed', err: error }, 'direct-method request failed');
        if (!response.headersSent) sendJson(response, 500, { message: 'internal error' });
      },
    );
  };
}

async function answer(request: IncomingMessage, options: MethodsRouteOptions): Promise<MethodAnswer> {
  const target = parseTarget((request.url ?? '/').split('?', 1)[0]!);
  if (target === undefined) return methodError(MethodHttpStatus.NotFound, 'DeviceNotFound', 'no such endpoint: use /twins/{deviceId}/methods or /twins/{deviceId}/modules/{moduleId}/methods');
  const caller = authenticate(request, options);
  if (typeof caller === 'string') {
    options.logger.info({ event: 'method.caller_refused', reason: caller, remoteAddress: request.socket.remoteAddress }, 'direct-method caller refused');
    return methodError(MethodHttpStatus.Unauthorized, 'IotHubUnauthorizedAccess', caller);
  }
  const body = await readLimitedBody(request, MAX_BODY_BYTES);
  if (body === undefined) return methodError(MethodHttpStatus.PayloadTooLarge, 'RequestEntityTooLarge', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  const parsed = parseMethodCall(body);
  if (!parsed.ok) return parsed.answer;
  return options.methods.invoke(target.deviceId, target.moduleId, parsed.call, `${caller.deviceId}/${caller.moduleId}`);
}

function parseTarget(path: string): { deviceId: string; moduleId: string | undefined } | undefined {
  if (!path.startsWith(METHODS_ROUTE_PREFIX)) return undefined;
  let parts: string[];
  try {
    parts = path.slice(METHODS_ROUTE_PREFIX.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (parts.length === 2 && parts[1] === 'methods' && parts[0] !== '') return { deviceId: parts[0]!, moduleId: undefined };
  if (parts.length === 4 && parts[1] === 'modules' && parts[3] === 'methods' && parts[0] !== '' && parts[2] !== '') return { deviceId: parts[0]!, moduleId: parts[2]! };
  return undefined;
}

/** The calling module, or why it is refused (text safe to send: no token). */
function authenticate(request: IncomingMessage, options: MethodsRouteOptions): { deviceId: string; moduleId: string } | string {
  const authorization = request.headers.authorization;
  if (authorization === undefined || !authorization.startsWith(SAS_PREFIX)) return 'the request needs an Authorization: SharedAccessSignature header (the calling module\'s token)';
  const header = request.headers['x-ms-edge-moduleid'];
  const callerId = Array.isArray(header) ? header[0] : header;
  const slash = callerId?.indexOf('/') ?? -1;
  if (callerId === undefined || slash <= 0 || slash === callerId.length - 1) return 'the request needs an x-ms-edge-moduleId: {deviceId}/{moduleId} header naming the calling module';
  const deviceId = callerId.slice(0, slash);
  const moduleId = callerId.slice(slash + 1);
  if (deviceId !== options.edgeDeviceId) return `only modules of edge device ${options.edgeDeviceId} may invoke direct methods here`;
  const result = options.verifySasToken(authorization, deviceId, moduleId);
  if (!result.ok) return `the token does not authenticate module ${callerId}: ${result.detail}`;
  return { deviceId, moduleId };
}

