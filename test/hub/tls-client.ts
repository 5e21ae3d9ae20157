import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { request } from 'node:https';
import type { Agent } from 'node:https';

/** Opens a TLS connection and resolves once the handshake has succeeded (or rejects with its error). */
export function tlsOpen(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function tcpOpen(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves when the peer closes the socket, with the time it took; rejects after the timeout. */
export function closedWithin(socket: Socket, timeoutMs: number): Promise<number> {
  const startedMs = Date.now();
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readableEnded) {
      resolve(0);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - startedMs);
    });
    socket.resume();
  });
}

export function httpsGet(
  port: number,
  path: string,
  options: { ca: string; agent?: Agent; servername?: string },
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca: options.ca, servername: options.servername ?? 'localhost', agent: options.agent ?? false },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
