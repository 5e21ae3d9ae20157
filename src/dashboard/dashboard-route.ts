import type { IncomingMessage, ServerResponse } from 'node:http';
import { readLimitedBody, sendJson } from '../http/index.js';
import { RateLimitedLog, type Logger } from '../log/index.js';
import type { DashboardStream } from './dashboard-stream.js';
import type { DashboardToken } from './dashboard-token.js';
import type { StaticAssets } from './static-assets.js';

/** Everything the dashboard serves lives under this path (and its session cookie with it). */
export const DASHBOARD_PATH = '/dashboard';
export const SESSION_COOKIE = 'outpost_dashboard';
/** A browser session lasts this long; then the page asks for the token again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** Files anyone may fetch: the sign-in page and what it needs. They hold no figures. */
const PUBLIC_ASSETS = new Set(['login.html', 'login.js', 'style.css', 'favicon.svg']);
const MAX_SIGN_IN_BYTES = 1024;

/**
 * The page and scripts may load only from this origin; nothing is inlined, nothing framed, no
 * referrer leaves (the sign-in link carries the token in its fragment, which is never sent).
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

export interface DashboardRouteOptions {
  readonly token: DashboardToken;
  readonly assets: StaticAssets;
  readonly stream: DashboardStream;
  readonly logger: Logger;
}

/**
 * GET and POST under /dashboard on the HTTPS listener. That listener faces the devices' network,
 * so everything but the sign-in page answers only a session cookie made from the operator token
 * (POST /dashboard/session with the token) or `Authorization: Bearer <token>`.
 */
export function dashboardRoute(options: DashboardRouteOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const refusals = new RateLimitedLog(options.logger);
  return (request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const path = (request.url ?? '/').split('?', 1)[0]!;
    if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return sendJson(response, 404, { error: 'not found', path });
    const rest = path.slice(DASHBOARD_PATH.length + 1);
    const method = request.method ?? 'GET';
    if (method === 'POST' && rest === 'session') return void signIn(request, response, options, refusals);
    if (method === 'POST' && rest === 'logout') return signOut(response);
    if (method !== 'GET') return sendJson(response, 405, { error: 'method not allowed' });
    if (PUBLIC_ASSETS.has(rest)) return serveAsset(request, response, options.assets, rest);
    const refused = authenticate(request, options.token);
    if (refused !== undefined) {
      refusals.info(`refused:${refused}`, { event: 'dashboard.refused', reason: refused, path, remoteAddress: request.socket.remoteAddress }, 'dashboard request without valid credentials');
      // The page itself answers with the sign-in form (still 401); anything else gets JSON.
      if (rest === '' || rest === 'index.html') return serveAsset(request, response, options.assets, 'login.html', 401);
      response.setHeader('www-authenticate', 'Bearer realm="outpost-dashboard"');
      return sendJson(response, 401, { error: refused });
    }
    if (rest === 'events') {
      if (!options.stream.open(response)) sendJson(response, 503, { error: 'too many dashboard pages are open' });
      return;
    }
    if (rest === '' || rest === 'index.html') return serveAsset(request, response, options.assets, 'index.html');
    return serveAsset(request, response, options.assets, rest);
  };
}

/** Why the request may not read the dashboard (text safe to send), or undefined when it may. */
function authenticate(request: IncomingMessage, token: DashboardToken): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    if (!authorization.startsWith('Bearer ')) return 'the Authorization header must be Bearer <operator token>';
    return token.matches(authorization.slice('Bearer '.length).trim()) ? undefined : 'the operator token does not match';
  }
  const session = cookie(request, SESSION_COOKIE);
  if (session === undefined) return 'sign in with the operator token (outpost dashboard url prints a link)';
  return token.validSession(session, Date.now()) ? undefined : 'the session has expired or the token was rotated; sign in again';
}

async function signIn(request: IncomingMessage, response: ServerResponse, options: DashboardRouteOptions, refusals: RateLimitedLog): Promise<void> {
  // JSON only: a form on another site cannot post it without a CORS preflight, which is refused.
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return sendJson(response, 415, { error: 'send {"token": "…"} as application/json' });
  const body = await readLimitedBody(request, MAX_SIGN_IN_BYTES).catch(() => undefined);
  let candidate: unknown;
  try {
    candidate = body === undefined ? undefined : (JSON.parse(body) as { token?: unknown }).token;
  } catch {
    candidate = undefined;
  }
  if (typeof candidate !== 'string' || !options.token.matches(candidate.trim())) {
    refusals.info('sign_in_refused', { event: 'dashboard.sign_in_refused', remoteAddress: request.socket.remoteAddress }, 'dashboard sign-in with a wrong token');
    return sendJson(response, 401, { error: 'the operator token does not match' });
  }
  const session = options.token.session(Date.now() + SESSION_TTL_MS);
  if (session === undefined) return sendJson(response, 401, { error: 'the operator token does not match' });
  options.logger.info({ event: 'dashboard.signed_in', remoteAddress: request.socket.remoteAddress }, 'dashboard session opened');
  response.setHeader('set-cookie', `${SESSION_COOKIE}=${session}; Path=${DASHBOARD_PATH}; Max-Age=${SESSION_TTL_MS / 1000}; HttpOnly; Secure; SameSite=Strict`);
  sendJson(response, 200, { ok: true });
}

function signOut(response: ServerResponse): void {
  response.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=${DASHBOARD_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`);
  sendJson(response, 200, { ok: true });
}

function serveAsset(request: IncomingMessage, response: ServerResponse, assets: StaticAssets, name: string, status = 200): void {
  const asset = assets.get(name);
  if (asset === undefined) return sendJson(response, 404, { error: 'not found' });
  if (status === 200 && request.headers['if-none-match'] === asset.etag) {
    response.writeHead(304, { etag: asset.etag });
    return void response.end();
  }
  response.writeHead(status, {
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    // Revalidated each time (ETag): a page after an upgrade never runs an old script.
    'cache-control': status === 200 ? 'no-cache' : 'no-store',
    etag: asset.etag,
  });
  response.end(asset.body);
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
