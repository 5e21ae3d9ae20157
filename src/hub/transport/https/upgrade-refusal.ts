import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** HTTP statuses of refused upgrades. */
export const UpgradeStatus = {
  BadRequest: 400,
  NotFound: 404,
  NotImplemented: 501,
  ServiceUnavailable: 503,
} as const;

/**
 * Answers an HTTP upgrade request that will not be upgraded: a complete HTTP/1.1 response with a
 * JSON body `{error, message}` (the same shape as the HTTPS API's errors), then the connection
 * closes. An upgrade request has no ServerResponse, so the response is written on the socket.
 */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: code, message });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  // end() sends the response, then the TLS close_notify and FIN (destroying at once could cut what
  // the kernel has not taken yet). HTTP server sockets allow half-open: a client that never closes
  // its side is cut after a grace period.
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** How long a refused upgrade's connection may stay open for the client to read the answer. */
const REFUSAL_LINGER_MS = 5_000;
