import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSasToken, type AuthResult } from '../hub/auth/index.js';
import { sendJson } from '../http/index.js';
import type { Logger } from '../log/index.js';
import type { MetricsRegistry } from './metrics-registry.js';

/** The path of the exposition, on the HTTPS listener and on the plain metrics port. */
export const METRICS_PATH = '/metrics';

/** Prometheus' text exposition format. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const SAS_PREFIX = 'SharedAccessSignature ';

export interface MetricsRouteOptions {
  readonly registry: MetricsRegistry;
  readonly edgeDeviceId: string;
  /** Verifies a SAS token for the edge device or one of its modules (IdentityAuthenticator.verifySasToken). */
  readonly verifySasToken: (token: string, deviceId: string, moduleId?: string) => AuthResult;
  readonly logger: Logger;
}

/**
 * GET /metrics on the HTTPS listener. That listener faces the devices' network, and the series
 * name every device and module, so it answers only a SAS token of the edge device itself or of
 * one of its modules (`Authorization: SharedAccessSignature sr=…`; Prometheus sends it with
 * `authorization: {type: SharedAccessSignature, credentials: "sr=…"}`). Azure's port 9600 has no
 * authentication because it is reachable only inside the module network; Outpost's equivalent
 * is the plain loopback port (metrics.port), off by default.
 */
export function metricsRoute(options: MetricsRouteOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    if ((request.url ?? '/').split('?', 1)[0] !== METRICS_PATH) return sendJson(response, 404, { error: 'not found' });
    const refused = authenticate(request, options);
    if (refused !== undefined) {
      options.logger.info({ event: 'metrics.scrape_refused', reason: refused, remoteAddress: request.socket.remoteAddress }, 'metrics scrape refused');
      response.setHeader('www-authenticate', 'SharedAccessSignature');
      return sendJson(response, 401, { error: refused });
    }
    serveExposition(options.registry, response, options.logger);
  };
}

/** Collects and answers the exposition (both listeners). */
export function serveExposition(registry: MetricsRegistry, response: ServerResponse, logger: Logger): void {
  registry.scrape().then(
    (text) => {
      if (response.destroyed) return;
      response.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      response.end(text);
    },
    (error: unknown) => {
      logger.error({ event: 'metrics.scrape_failed', code: 'OUTPOST_INTERNAL', err: error }, 'collecting metrics failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
    },
  );
}

/** Why the request may not read the metrics (text safe to send), or undefined when it may. */
function authenticate(request: IncomingMessage, options: MetricsRouteOptions): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization === undefined || !authorization.startsWith(SAS_PREFIX)) return 'the request needs an Authorization: SharedAccessSignature header (a token of the edge device or one of its modules)';
  const parsed = parseSasToken(authorization);
  if (!parsed.ok) return `the token is malformed: ${parsed.reason}`;
  const deviceId = parsed.token.deviceIds[0];
  const moduleId = parsed.token.moduleIds?.[0];
  if (deviceId !== options.edgeDeviceId) return `only edge device ${options.edgeDeviceId} and its modules may read metrics`;
  const result = options.verifySasToken(authorization, deviceId, moduleId);
  return result.ok ? undefined : `the token does not verify: ${result.detail}`;
}
