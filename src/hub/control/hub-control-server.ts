import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { OutpostError, toOutpostError } from '../../errors/index.js';
import { readLimitedBody, sendJson, socketAnswers } from '../../http/index.js';
import type { Logger } from '../../log/index.js';
import type { C2dControlHandlers } from './c2d-control.js';
import type { DeployControlHandlers } from './deploy-control.js';

/**
 * The hub's control API for the CLI, where the operator plays the cloud's part: HTTP/1.1 on a
 * unix socket, <dataDir>/hub.sock (mode 0600: whoever may use it may configure every device).
 *
 *   GET   /v1/twins/{deviceId}[/modules/{moduleId}]           → 200 the twin
 *   PATCH /v1/twins/{deviceId}[/modules/{moduleId}]/desired   body: a desired-properties patch
 *         → 200 {"version": n}
 *
 *   POST  /v1/methods/{deviceId}[/modules/{moduleId}]         body: IoT Hub's direct-method body
 *         {methodName, payload, responseTimeoutInSeconds} → IoT Hub's answer and status
 *         (200 {status, payload}; 400, 404, 413, 504 with {errorCode, message}; docs/methods.md)
 *
 *   POST  /v1/devices/{deviceId}/deployment                 body: a deployment manifest
 *         → 200 {deviceId, versions: {moduleId: desired $version}}; 400 {statusCode, problems}
 *         (the manifest is invalid); 404 (the device's $edgeAgent is not in the registry)
 *
 *   GET   /v1/status    → 200 {pid, version, ports} (outpost check: which ports to probe)
 *   GET   /v1/metrics   → 200 the Prometheus text of the hub's registry (outpost support-bundle);
 *                           `?name=<family>` (repeatable) renders only those families
 *
 * Errors are {"code": "OUTPOST_…", "message": …} with status 400 (bad patch), 404 (no such
 * identity) or 500. C2D endpoints: c2d-control.ts.
 */
export interface HubControlHandlers {
  twin(deviceId: string, moduleId: string | undefined): Promise<HubControlAnswer>;
  updateDesired(deviceId: string, moduleId: string | undefined, patchText: string): Promise<HubControlAnswer>;
  invokeMethod(deviceId: string, moduleId: string | undefined, bodyText: string): Promise<HubControlAnswer>;
  readonly c2d?: C2dControlHandlers;
  /** A deployment for a device below (a root managing its tree): deploy-control.ts. */
  readonly deployments?: DeployControlHandlers;
  /** What `outpost check` needs to probe the running hub: its process and bound ports. */
  status?(): unknown;
  /** Each store endpoint's delivery state now (MessageStore.deliveryState): `outpost store delivery`. */
  delivery?(): unknown;
  /** The metrics text, when metrics are on: every family, or only those in `names`. */
  metrics?(names?: ReadonlySet<string>): Promise<string>;
}

export interface HubControlAnswer {
  readonly status: number;
  readonly body: unknown;
}

const MAX_SOCKET_PATH_BYTES = 107;
// Well above a twin section's 32 KB: the service says what is too large, with its own limits.
const MAX_BODY_BYTES = 1024 * 1024;

export class HubControlServer {
  private constructor(private readonly server: Server) {}

  static async start(socketPath: string, handlers: HubControlHandlers, logger: Logger): Promise<HubControlServer> {
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new OutpostError('OUTPOST_HUB_CONTROL_LISTEN_FAILED', `hub control socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter dataDir`, { details: { socketPath } });
    }
    if (existsSync(socketPath)) {
      if (await socketAnswers(socketPath)) throw new OutpostError('OUTPOST_HUB_CONTROL_LISTEN_FAILED', `another hub is running on ${socketPath}`, { details: { socketPath } });
      unlinkSync(socketPath);
    }
    const server = createServer((request, response) => serveControlRequest(request, response, handlers, logger));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) => reject(new OutpostError('OUTPOST_HUB_CONTROL_LISTEN_FAILED', `cannot listen on ${socketPath}: ${cause.message}`, { cause, details: { socketPath } })));
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
    logger.info({ event: 'hub.control_listening', socketPath }, 'hub control socket listening');
    return new HubControlServer(server);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers one request of the control API: on the unix socket, and on HTTPS as the operator API (operator-api-route.ts). */
export function serveControlRequest(request: IncomingMessage, response: ServerResponse, handlers: HubControlHandlers, logger: Logger): void {
  handle(request, handlers).then(
    (answer) => sendJson(response, answer.status, answer.body),
    (thrown: unknown) => {
      const error = toOutpostError(thrown);
      if (error.kind === 'internal') logger.error({ event: 'hub.control_failed', code: error.code, err: thrown }, error.message);
      if (!response.headersSent) sendJson(response, error.kind === 'internal' || error.kind === 'transient' ? 500 : 400, { code: error.code, message: error.message });
    },
  );
}

async function handle(request: IncomingMessage, handlers: HubControlHandlers): Promise<HubControlAnswer> {
  const url = new URL(request.url ?? '/', 'http://hub');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = request.method ?? 'GET';
  if (parts[0] === 'v1' && parts[1] === 'twins' && parts[2] !== undefined) {
    const deviceId = parts[2];
    let rest = parts.slice(3);
    let moduleId: string | undefined;
    if (rest[0] === 'modules' && rest[1] !== undefined) {
      moduleId = rest[1];
      rest = rest.slice(2);
    }
    if (method === 'GET' && rest.length === 0) return handlers.twin(deviceId, moduleId);
    if (method === 'PATCH' && rest.length === 1 && rest[0] === 'desired') return handlers.updateDesired(deviceId, moduleId, await readBody(request));
  }
  if (parts[0] === 'v1' && parts[1] === 'methods' && parts[2] !== undefined && method === 'POST') {
    const deviceId = parts[2];
    if (parts.length === 3) return handlers.invokeMethod(deviceId, undefined, await readBody(request));
    if (parts.length === 5 && parts[3] === 'modules' && parts[4] !== undefined) return handlers.invokeMethod(deviceId, parts[4], await readBody(request));
  }
  if (method === 'POST' && parts[0] === 'v1' && parts[1] === 'devices' && parts[2] !== undefined && parts[3] === 'deployment' && parts.length === 4 && handlers.deployments !== undefined) {
    return handlers.deployments.deploy(parts[2], await readBody(request));
  }
  if (method === 'GET' && parts[0] === 'v1' && parts.length === 2) {
    if (parts[1] === 'status' && handlers.status !== undefined) return { status: 200, body: handlers.status() };
    if (parts[1] === 'delivery' && handlers.delivery !== undefined) return { status: 200, body: handlers.delivery() };
    if (parts[1] === 'metrics' && handlers.metrics !== undefined) {
      const names = url.searchParams.getAll('name');
      return { status: 200, body: { text: await handlers.metrics(names.length === 0 ? undefined : new Set(names)) } };
    }
  }
  const c2d = handlers.c2d?.route(method, parts, () => readBody(request));
  if (c2d !== undefined) return c2d;
  return { status: 404, body: { code: 'OUTPOST_CLI_USAGE', message: `no such endpoint: ${method} ${url.pathname}` } };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const text = await readLimitedBody(request, MAX_BODY_BYTES);
  if (text === undefined) throw new OutpostError('OUTPOST_TWIN_PATCH_INVALID', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  return text;
}
