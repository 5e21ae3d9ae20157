import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';

/**
 * Small HTTP helpers shared by the local control APIs (the agent's and the hub's unix sockets) and
 * the hub's HTTPS routes: a request body read with a size bound, a JSON answer, and a probe of
 * whether something already answers on a unix socket.
 */

/**
 * The body as UTF-8 text, or undefined once it passes `maxBytes` (the request is then paused and
 * destroyed: an oversize body is never buffered whole). Each caller maps undefined to its own
 * error, since a too-large manifest, patch or method payload are different refusals.
 */
export function readLimitedBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.pause();
        resolve(undefined);
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Answers with a JSON body; a response whose headers already went out is cut instead. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.destroy();
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** True when a server accepts connections on the unix socket (another process owns it). */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
