import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';

/**
 * Small HTTP helpers shared by the local control APIs (the agent's and the hub's unix sockets) and
 * the hub's HTTPS routes: a request body read with a size bound, a JSON answer, and a probe of
 * whether something already answers on a unix socket.
 */

/**
 * How much of an oversize body is still read (and dropped) after `maxBytes`, as a multiple of it,
 * before the connection is cut: reading on lets the caller's refusal reach the client (a server
 * that closes with unread bytes makes the client's stack reset the connection, and the answer is
 * lost), while a client that sends without end is still stopped.
 */
const OVERSIZE_DRAIN_FACTOR = 4;

/**
 * The body as UTF-8 text, or undefined once it passes `maxBytes`: nothing more is buffered, the
 * rest is read and dropped (up to OVERSIZE_DRAIN_FACTOR × `maxBytes`, then the request is
 * destroyed) so that the caller's answer gets through. Each caller maps undefined to its own
 * error, since a too-large manifest, patch or method payload are different refusals.
 */
export function readLimitedBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] | undefined = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (chunks === undefined) {
        if (size > maxBytes * OVERSIZE_DRAIN_FACTOR) request.destroy();
        return;
      }
      if (size > maxBytes) {
        chunks = undefined;
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(chunks === undefined ? undefined : Buffer.concat(chunks).toString('utf8')));
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
