import type { IncomingMessage, ServerResponse } from 'node:http';
import { DashboardToken } from '../../dashboard/index.js';
import { sendJson } from '../../http/index.js';
import { RateLimitedLog, type Logger } from '../../log/index.js';
import { serveControlRequest, type HubControlHandlers } from './hub-control-server.js';

/** The operator API's token in the data directory (mode 0600), made by `outpost api token`. */
export const API_TOKEN_FILE = 'api.token';
/** Where the operator API is served on the HTTPS listener: the control socket's paths, unchanged. */
export const OPERATOR_API_PREFIX = '/v1/';
/** The methods the control API answers. */
export const OPERATOR_API_METHODS = ['GET', 'PATCH', 'POST'] as const;

const BEARER = /^Bearer ([A-Za-z0-9_-]+)$/;

export function apiToken(dataDir: string): DashboardToken {
  return new DashboardToken(dataDir, API_TOKEN_FILE, 'OUTPOST_API_TOKEN_UNAVAILABLE');
}

export interface OperatorApiOptions {
  readonly dataDir: string;
  readonly handlers: HubControlHandlers;
  readonly logger: Logger;
}

/**
 * The control socket's API (twins, desired properties, methods, C2D, deployments to devices
 * below, status, metrics: hub-control-server.ts) on the HTTPS listener under `/v1/`, for an
 * operator who manages a gateway — or the tree below a root — from another machine. The socket
 * is guarded by its file mode; here the credential is a bearer token, `<dataDir>/api.token`,
 * read on every request so that `outpost api token --rotate` applies at once. With no token file
 * the API answers only 401: nothing is open until an operator makes one.
 */
export function operatorApiRoute(options: OperatorApiOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const token = apiToken(options.dataDir);
  const refusals = new RateLimitedLog(options.logger);
  return (request, response) => {
    const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (presented === undefined || !token.matches(presented)) {
      const why = token.read() === undefined ? 'no token file' : presented === undefined ? 'no bearer token' : 'wrong token';
      refusals.warn(`operator_api.refused:${why}`, { event: 'operator_api.refused', code: 'OUTPOST_API_UNAUTHORIZED', why, remoteAddress: request.socket.remoteAddress }, 'operator API request refused');
      request.resume();
      response.setHeader('WWW-Authenticate', 'Bearer realm="outpost"');
      sendJson(response, 401, { code: 'OUTPOST_API_UNAUTHORIZED', message: `the operator API needs "Authorization: Bearer <token>" with the token in ${token.file} (outpost api token)` });
      return;
    }
    serveControlRequest(request, response, options.handlers, options.logger);
  };
}
