import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { OutpostError, toOutpostError } from '../../errors/index.js';
import { readLimitedBody, sendJson, socketAnswers } from '../../http/index.js';
import type { Logger } from '../../log/index.js';
import type { ManifestProblem } from '../manifest/index.js';
import type { LogOptions } from '../runtime/module-runtime.js';

/**
 * The agent's control API for the CLI: HTTP/1.1 on a unix socket, <dataDir>/agent/agent.sock
 * (mode 0600: whoever may use it may deploy code on this machine).
 *
 *   GET  /v1/status                           → 200 the $edgeAgent reported properties
 *   GET  /v1/modules/{id}/logs?tail=N&follow=1&since=MS&until=MS → 200 text stream (404 unknown module)
 *   POST /v1/modules/{id}/restart             → 200 {"restarted": id}   (404, 409)
 *   POST /v1/deployment?file=<path>           body: manifest JSON
 *        → 200 {"statusCode": 200}  or  400 {"statusCode": 400|412|417, "problems": [{path, message}]}
 *
 * Errors are {"code": "OUTPOST_…", "message": …}.
 */
export interface ControlHandlers {
  status(): unknown;
  logs(id: string, options: LogOptions): Promise<Readable>;
  restart(id: string): Promise<void>;
  deploy(file: string, text: string): Promise<{ statusCode: number; problems?: readonly ManifestProblem[] }>;
}

const MAX_SOCKET_PATH_BYTES = 107;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  static async start(socketPath: string, handlers: ControlHandlers, logger: Logger): Promise<ControlServer> {
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new OutpostError('OUTPOST_AGENT_CONTROL_LISTEN_FAILED', `control socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter dataDir`, { details: { socketPath } });
    }
    if (existsSync(socketPath)) {
      if (await socketAnswers(socketPath)) throw new OutpostError('OUTPOST_AGENT_CONTROL_LISTEN_FAILED', `another agent is running on ${socketPath}`, { details: { socketPath } });
      unlinkSync(socketPath);
    }
    const server = createServer((request, response) => {
      handle(request, response, handlers).catch((thrown: unknown) => {
        const error = toOutpostError(thrown);
        if (error.code === 'OUTPOST_INTERNAL') logger.error({ event: 'agent.control_failed', err: thrown }, error.message);
        if (!response.headersSent) sendJson(response, statusOf(error), { code: error.code, message: error.message });
        else response.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) => reject(new OutpostError('OUTPOST_AGENT_CONTROL_LISTEN_FAILED', `cannot listen on ${socketPath}: ${cause.message}`, { cause, details: { socketPath } })));
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
    return new ControlServer(server, socketPath);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, handlers: ControlHandlers): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://agent');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = request.method ?? 'GET';
  if (method === 'GET' && parts.length === 2 && parts[1] === 'status') return sendJson(response, 200, handlers.status() ?? {});
  if (parts[1] === 'modules' && parts.length === 4 && parts[2] !== undefined) {
    const id = parts[2];
    if (method === 'GET' && parts[3] === 'logs') {
      const tail = url.searchParams.get('tail');
      const abort = new AbortController();
      const stream = await handlers.logs(id, {
        ...(tail === null || tail === 'all' ? {} : { tail: Math.max(0, Number.parseInt(tail, 10) || 0) }),
        follow: url.searchParams.get('follow') === '1',
        signal: abort.signal,
        ...timeParam('sinceMs', url.searchParams.get('since')),
        ...timeParam('untilMs', url.searchParams.get('until')),
      });
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.on('close', () => {
        abort.abort();
        stream.destroy();
      });
      stream.pipe(response);
      return;
    }
    if (method === 'POST' && parts[3] === 'restart') {
      await handlers.restart(id);
      return sendJson(response, 200, { restarted: id });
    }
  }
  if (method === 'POST' && parts.length === 2 && parts[1] === 'deployment') {
    const text = await readBody(request);
    const result = await handlers.deploy(url.searchParams.get('file') ?? 'deployment.json', text);
    return sendJson(response, result.statusCode === 200 ? 200 : 400, result);
  }
  sendJson(response, 404, { code: 'OUTPOST_CLI_USAGE', message: `no such endpoint: ${method} ${url.pathname}` });
}

/** since/until travel as milliseconds since the epoch; the CLI parses what the operator typed. */
function timeParam(key: 'sinceMs' | 'untilMs', value: string | null): Partial<Record<'sinceMs' | 'untilMs', number>> {
  if (value === null) return {};
  const ms = Number(value);
  return Number.isFinite(ms) ? { [key]: ms } : {};
}

function statusOf(error: OutpostError): number {
  if (error.code === 'OUTPOST_AGENT_MODULE_NOT_FOUND') return 404;
  if (error.code === 'OUTPOST_AGENT_COMMAND_FAILED') return 409;
  return error.kind === 'client' || error.kind === 'config' ? 400 : 500;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const text = await readLimitedBody(request, MAX_MANIFEST_BYTES);
  if (text === undefined) throw new OutpostError('OUTPOST_DEPLOYMENT_INVALID', `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  return text;
}
