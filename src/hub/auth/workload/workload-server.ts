/**
 * The workload API that Azure's module SDKs call (`IOTEDGE_WORKLOADURI`), served over HTTP on a
 * unix socket, so `ModuleClient.fromEnvironment` works unmodified (azure-iot-sdk-wire.md):
 *
 *   GET  /trust-bundle?api-version=…                     → 200 {"certificate": "<PEM bundle>"}
 *   POST /modules/{m}/genid/{g}/sign?api-version=…       {"keyId":"primary","algo":"HMACSHA256","data":"<base64>"}
 *                                                        → 200 {"digest": "<base64 HMAC-SHA256 with the module's key>"}
 *
 * Errors are `{"message": …}` with 400 (bad request), 403, 404, 405 or 413, as iotedged answers.
 * Only modules of this edge device are signed for, with their own key, and only for their current
 * generation id. With `onlyModule`, the socket signs for that one module (a socket per module is
 * how to keep modules from asking for each other's signatures).
 *
 * The module's key never leaves; the log says who asked, never the data or the digest.
 */
import crypto from 'node:crypto';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { OutpostError } from '../../../errors/index.js';
import type { Logger } from '../../../log/index.js';
import type { IdentityRegistry } from '../identity-registry.js';

export interface WorkloadServerOptions {
  /** Where to listen, e.g. `<dataDir>/workload.sock`. */
  readonly socketPath: string;
  readonly registry: IdentityRegistry;
  /** The PEM bundle modules must trust to reach the hub (the CA of the server certificate). */
  readonly trustBundle: string | (() => string);
  /** Sign for this module only. */
  readonly onlyModule?: string;
  /** File mode of the socket; default 0o660 (owner and group). */
  readonly socketMode?: number;
  readonly logger?: Logger;
}

// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
const MAX_BODY_BYTES = 64 * 1024;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY_IDS = ['primary', 'secondary'] as const;
const SIGN_ALGORITHM = 'HMACSHA256';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class WorkloadServer {
  private constructor(
    private readonly server: Server,
    private readonly options: WorkloadServerOptions,
  ) {}

  /** Listens on the socket; replaces a stale socket file, refuses one a live process holds. */
  static async start(options: WorkloadServerOptions): Promise<WorkloadServer> {
    const path = options.socketPath;
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw listenFailed(path, `the path is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the unix socket limit; use a shorter data directory`);
    }
    await removeStaleSocket(path);
    const holder: { instance?: WorkloadServer } = {};
    const server = createServer((request, response) => void holder.instance!.handle(request, response));
    holder.instance = new WorkloadServer(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(listenFailed(path, error.message, error)));
      server.listen(path, () => resolve());
    });
    chmodSync(path, options.socketMode ?? 0o660);
    options.logger?.info({ event: 'workload.listening', socketPath: path, onlyModule: options.onlyModule }, 'workload API listening');
    return holder.instance;
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** `unix://<path>`, the value of IOTEDGE_WORKLOADURI. */
  get uri(): string {
    return `unix://${this.options.socketPath}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    try {
      unlinkSync(this.options.socketPath);
    } catch {
      // Already gone.
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const body = await this.route(request);
      send(response, 200, body);
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError ? error.message : 'internal error';
      this.options.logger?.info({ event: 'workload.request_refused', method: request.method, path: pathOnly(request.url), status, reason: message }, 'workload API request refused');
      if (!(error instanceof HttpError)) this.options.logger?.error({ event: 'workload.internal_error', err: error }, 'workload API failed');
      send(response, status, { message });
    }
  }

  private async route(request: IncomingMessage): Promise<unknown> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').slice(1).map(decodeSegment);
    const apiVersion = url.searchParams.get('api-version');
    const isTrustBundle = segments.length === 1 && segments[0] === 'trust-bundle';
    const isSign = segments.length === 5 && segments[0] === 'modules' && segments[2] === 'genid' && segments[4] === 'sign';
    if (!isTrustBundle && !isSign) throw new HttpError(404, `no such API: ${url.pathname}`);
    if (apiVersion === null || apiVersion.trim() === '') throw new HttpError(400, 'the api-version query parameter is required');
    if (isTrustBundle) {
      if (request.method !== 'GET') throw new HttpError(405, 'use GET for /trust-bundle');
      const bundle = typeof this.options.trustBundle === 'function' ? this.options.trustBundle() : this.options.trustBundle;
      return { certificate: bundle };
    }
    if (request.method !== 'POST') throw new HttpError(405, 'use POST for /modules/{module}/genid/{generation}/sign');
    return this.sign(segments[1]!, segments[3]!, await readJson(request));
  }

  private sign(moduleId: string, generationId: string, body: unknown): { digest: string } {
    const { registry, onlyModule, logger } = this.options;
    if (onlyModule !== undefined && moduleId !== onlyModule) throw new HttpError(403, `this socket signs for module ${onlyModule} only`);
    const entry = registry.entry(registry.edgeDeviceId, moduleId);
    if (entry === undefined) throw new HttpError(404, `module ${moduleId} not found`);
    if (entry.record.generationId !== generationId) throw new HttpError(404, `module ${moduleId} has no generation ${generationId}`);
    if (entry.record.status !== 'enabled') throw new HttpError(403, `module ${moduleId} is disabled`);
    if (entry.keys === undefined) throw new HttpError(400, `module ${moduleId} does not authenticate with SAS keys`);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'expected {"keyId", "algo", "data"}');
    const { keyId, algo, data } = body as Record<string, unknown>;
    if (!(KEY_IDS as readonly unknown[]).includes(keyId)) throw new HttpError(400, 'keyId must be "primary" or "secondary"');
    if (algo !== SIGN_ALGORITHM) throw new HttpError(400, `algo must be "${SIGN_ALGORITHM}"`);
    if (typeof data !== 'string' || !BASE64_PATTERN.test(data)) throw new HttpError(400, 'data must be base64');
    const key = keyId === 'primary' ? entry.keys.primary : entry.keys.secondary;
    const digest = crypto.createHmac('sha256', key).update(Buffer.from(data, 'base64')).digest('base64');
    logger?.debug({ event: 'workload.signed', moduleId, keyId }, 'signed for a module');
    return { digest };
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'the path is not url-encoded correctly');
  }
}

/** The path without its query (api-version is all the query holds, but keep logs tidy). */
function pathOnly(url: string | undefined): string {
  return (url ?? '/').split('?', 1)[0]!;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

/** A socket file left by a crashed process is removed; one that answers belongs to a live process. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // Nothing there.
  }
  if (!isSocket) throw listenFailed(path, 'a file that is not a socket is in the way');
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw listenFailed(path, 'another process is serving this socket (is another Outpost running on this data directory?)');
  unlinkSync(path);
}

function listenFailed(path: string, reason: string, cause?: unknown): OutpostError {
  return new OutpostError('OUTPOST_WORKLOAD_LISTEN_FAILED', `workload API socket ${path}: ${reason}`, {
    details: { socketPath: path },
    ...(cause === undefined ? {} : { cause }),
  });
}
