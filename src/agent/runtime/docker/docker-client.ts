import { request, type IncomingMessage } from 'node:http';
import { OutpostError } from '../../../errors/index.js';

/**
 * A minimal Docker Engine API client over the unix socket, on Node's http (dockerode is named by
 * the design card but not installed; this is the subset the docker runtime needs, behind the
 * same ModuleRuntime interface). API v1.41: Docker 20.10+, Moby, and podman's compatible service.
 */
export const DOCKER_API_VERSION = 'v1.41';
const DEFAULT_TIMEOUT_MS = 60_000;

export interface DockerRequest {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Idle timeout of the socket; 0 for none (pulls, followed logs, events). */
  readonly timeoutMs?: number;
  /** Path without the /v1.41 prefix (podman's libpod endpoints). */
  readonly raw?: boolean;
}

export interface DockerResponse<T> {
  readonly status: number;
  readonly body: T;
}

export class DockerClient {
  constructor(readonly socketPath: string) {}

  /** A request whose JSON (or empty) answer is read whole. */
  async call<T = unknown>(method: string, path: string, options: DockerRequest = {}): Promise<DockerResponse<T>> {
    const response = await this.open(method, path, options);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    if (text !== '' && (response.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: response.statusCode ?? 0, body: body as T };
  }

  /** A request whose answer is consumed as a stream (pull progress, logs, events). */
  open(method: string, path: string, options: DockerRequest = {}): Promise<IncomingMessage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) query.set(key, String(value));
    const qs = query.size > 0 ? `?${query.toString()}` : '';
    const fullPath = `${options.raw === true ? '' : `/${DOCKER_API_VERSION}`}${path}${qs}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path: fullPath,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }), ...options.headers },
        },
        resolve,
      );
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from the Docker API within ${timeoutMs} ms (${method} ${path})`)));
      req.on('error', (cause: NodeJS.ErrnoException) => {
        const unreachable = cause.code === 'ENOENT' || cause.code === 'ECONNREFUSED' || cause.code === 'EACCES';
        reject(
          new OutpostError('OUTPOST_AGENT_RUNTIME_UNAVAILABLE', unreachable ? `cannot reach the Docker Engine API at ${this.socketPath} (${cause.code})` : `Docker API ${method} ${path}: ${cause.message}`, {
            cause,
            details: { socketPath: this.socketPath },
          }),
        );
      });
      req.end(body);
    });
  }
}

/** The engine's message from an error answer ({"message": …}). */
export function engineMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return typeof body === 'string' ? body.trim() : JSON.stringify(body);
}
