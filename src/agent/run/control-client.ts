import { request } from 'node:http';
import { OutpostError } from '../../errors/index.js';

/** The CLI's side of the control API (control-server.ts). */
export interface ControlResponse {
  readonly status: number;
  readonly body: unknown;
}

export class ControlClient {
  constructor(readonly socketPath: string) {}

  /** A JSON request; throws OUTPOST_AGENT_NOT_RUNNING when nothing listens on the socket. */
  async call(method: string, path: string, body?: string): Promise<ControlResponse> {
    const response = await this.open(method, path, body);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.statusCode ?? 0, body: parsed };
  }

  /** A streaming request (logs): the response as it arrives. */
  open(method: string, path: string, body?: string): Promise<import('node:http').IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, resolve);
      req.on('error', (cause: NodeJS.ErrnoException) => {
        if (cause.code === 'ENOENT' || cause.code === 'ECONNREFUSED') {
          reject(new OutpostError('OUTPOST_AGENT_NOT_RUNNING', `no agent is running on ${this.socketPath} (start \`outpost run\` or \`outpost agent\` with the same data directory)`, { cause, details: { socketPath: this.socketPath } }));
        } else reject(cause);
      });
      req.end(body);
    });
  }
}
