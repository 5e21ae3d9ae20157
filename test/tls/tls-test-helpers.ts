/**
 * Shared pieces for the TLS tests: temporary directories, a logger whose lines the test can read,
 * a real TLS server on port 0 and a handshake that reports success or the error code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

// Every wait has a deadline so a broken handshake fails the test instead of hanging it.
const HANDSHAKE_DEADLINE_MS = 10_000;

/** A fresh directory under the OS temp dir, removed when the test ends. */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'outpost-tls-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export { captureLogger, type LogLine } from '../helpers/capture-logger.js';

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A TLS server on port 0 (all interfaces, IPv4 and IPv6) that says "hello" and closes. */
export async function startTlsServer(options: tls.TlsOptions): Promise<RunningServer> {
  const server = tls.createServer(options, (socket) => socket.end('hello'));
  // Handshake failures are expected in several tests; without a listener they would be unhandled.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type HandshakeResult =
  | { readonly ok: true; readonly protocol: string | null; readonly data: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Connects, completes the handshake, reads what the server sends, and reports the outcome. */
export function handshake(options: tls.ConnectionOptions): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    const socket = tls.connect(options);
    let data = '';
    let protocol: string | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, code: 'TEST_DEADLINE', message: 'no handshake result within the deadline' });
    }, HANDSHAKE_DEADLINE_MS);
    socket.on('secureConnect', () => {
      protocol = socket.getProtocol();
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(protocol === null ? { ok: false, code: 'NO_HANDSHAKE', message: 'closed before handshake' } : { ok: true, protocol, data });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, code: error.code ?? 'UNKNOWN', message: error.message });
    });
  });
}

/** `openssl x509 -noout -text` of a PEM certificate. */
export function opensslText(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' });
}
