/**
 * TLS handshake deadlines (src/hub/transport/handshake-deadlines.ts) on the real listeners: the
 * MQTT/AMQP TLS listener (SocketListener) and the HTTPS listener that serves WebSocket. A client
 * that opens TCP and never finishes its handshake is cut at its deadline, logged; a completed
 * handshake is taken out of the sweep (through Node's `_parent` link from the TLS socket to its TCP
 * socket), stays open past the deadline, and carries no timer or `timeout` listener of Node's.
 */
import assert from 'node:assert/strict';
import { connect as connectTcp, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { ConnectionRegistry, HttpsListener, SocketListener } from '../../src/hub/transport/index.js';
import { ensureDevCertificates, tlsVersionRange } from '../../src/tls/index.js';
import { captureLogger, tempDir } from './tls-test-helpers.js';

const TIMEOUT_MS = 1_000;

/** A TCP connection that sends nothing: resolves with how long the server took to close it. */
function silentClient(port: number): Promise<number> {
  const startedMs = Date.now();
  const socket: Socket = connectTcp(port, '127.0.0.1');
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now() - startedMs)));
}

function completedHandshake(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ port, host: '127.0.0.1', servername: 'localhost', ca }, () => resolve(socket));
    socket.once('error', reject);
  });
}

test('the TLS listener cuts a handshake that does not finish in time, and leaves a finished one alone', async (t) => {
  const log = captureLogger();
  const dev = ensureDevCertificates({ dataDir: tempDir(t), hostnames: [], logger: log.logger });
  const handed: Duplex[] = [];
  const listener = new SocketListener({
    name: 'mqtt',
    host: '127.0.0.1',
    port: 0,
    tls: { cert: dev.certPem, key: dev.keyPem, ...tlsVersionRange(['tls1.2', 'tls1.3']) },
    connectTimeoutMs: TIMEOUT_MS,
    adapter: { protocol: 'mqtt', handle: (stream) => void handed.push(stream), shutdown: async () => undefined },
    registry: new ConnectionRegistry(100, log.logger),
    logger: log.logger,
  });
  const port = await listener.listen();
  t.after(() => listener.stopAccepting());

  const [silentMs, client] = await Promise.all([silentClient(port), completedHandshake(port, dev.caPem)]);
  t.after(() => client.destroy());
  // Cut at the deadline, at most one sweep (1 s) after it.
  assert.ok(silentMs >= TIMEOUT_MS - 50 && silentMs < TIMEOUT_MS + 2_500, `the silent client was closed after ${silentMs} ms`);
  const timedOut = log.lines.filter((l) => l.event === 'transport.tls_handshake_failed' && l.reason === 'TLS handshake timeout');
  assert.equal(timedOut.length, 1, JSON.stringify(log.lines));
  assert.equal(timedOut[0]!.listener, 'mqtt');

  // The finished handshake outlives its deadline and a sweep past it.
  assert.equal(handed.length, 1);
  const server = handed[0] as TLSSocket;
  assert.equal(server.listenerCount('timeout'), 0);
  // Node keeps a socket's last timer (cleared) under its `timeout` symbol: its handshake timer
  // stayed there for the connection's life (about 250 bytes). No timer was armed on this one.
  const kept = Object.getOwnPropertySymbols(server).filter((s) => s.description === 'timeout').map((s) => (server as unknown as Record<symbol, unknown>)[s]);
  assert.deepEqual(kept.filter((v) => v !== null && v !== undefined), [], "Node's handshake timer is kept on the socket");
  await sleep(TIMEOUT_MS + 1_500);
  assert.equal(server.destroyed, false, 'a connection whose handshake finished was cut');
  assert.equal(client.destroyed, false);
});

test('the HTTPS listener (WebSocket) cuts a handshake that does not finish in time', async (t) => {
  const log = captureLogger();
  const dev = ensureDevCertificates({ dataDir: tempDir(t), hostnames: [], logger: log.logger });
  const https = new HttpsListener({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: dev.certPem, key: dev.keyPem, ...tlsVersionRange(['tls1.2', 'tls1.3']) },
    connectTimeoutMs: TIMEOUT_MS,
    registry: new ConnectionRegistry(100, log.logger),
    logger: log.logger,
  });
  const port = await https.listen();
  t.after(() => https.shutdown(Date.now() + 1_000));
  const [silentMs, client] = await Promise.all([silentClient(port), completedHandshake(port, dev.caPem)]);
  t.after(() => client.destroy());
  assert.ok(silentMs >= TIMEOUT_MS - 50 && silentMs < TIMEOUT_MS + 2_500, `the silent client was closed after ${silentMs} ms`);
  assert.equal(log.lines.filter((l) => l.event === 'transport.tls_handshake_failed' && l.reason === 'TLS handshake timeout' && l.listener === 'https').length, 1);
  // A finished handshake with no request yet is HTTP's to time out (headersTimeout, checked every
  // 30 s by Node), not the sweep's: still open past the handshake deadline, and not logged as one.
  await sleep(TIMEOUT_MS + 1_500);
  assert.equal(client.destroyed, false, 'a connection whose handshake finished was cut at the handshake deadline');
  assert.equal(log.lines.filter((l) => l.reason === 'TLS handshake timeout').length, 1);
});
