import { request } from 'node:http';
import { OutpostError } from '../../errors/index.js';

/** The CLI's side of the hub control API (hub-control-server.ts). */
export class HubControlClient {
  constructor(readonly socketPath: string) {}

  /** A JSON request; throws OUTPOST_HUB_NOT_RUNNING when nothing listens on the socket. */
  call(method: string, path: string, body?: string): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      // No keep-alive (Node 20's global agent keeps sockets open): the CLI exits as soon as it has the answer.
      const req = request({ socketPath: this.socketPath, method, path, headers, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      });
      req.on('error', (cause: NodeJS.ErrnoException) => {
        if (cause.code === 'ENOENT' || cause.code === 'ECONNREFUSED') {
          reject(new OutpostError('OUTPOST_HUB_NOT_RUNNING', `no hub is running on ${this.socketPath} (start \`outpost run\` or \`outpost hub\` with the same data directory)`, { cause, details: { socketPath: this.socketPath } }));
        } else reject(cause);
      });
      req.end(body);
    });
  }
}
