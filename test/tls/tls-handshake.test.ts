/**
 * Real TLS with the development certificates: a node:tls server on port 0 and clients that trust
 * only the development CA, connecting by name and by IPv4 and IPv6 address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureDevCertificates, tlsVersionRange, type DevCertificates } from '../../src/tls/index.js';
import { captureLogger, handshake, startTlsServer, tempDir, type RunningServer } from './tls-test-helpers.js';

async function devServer(t: { after: (fn: () => Promise<void> | void) => void }, hostnames: readonly string[] = []): Promise<{ dev: DevCertificates; server: RunningServer }> {
  const dev = ensureDevCertificates({ dataDir: tempDir(t), hostnames, logger: captureLogger().logger });
  const server = await startTlsServer({ cert: dev.certPem, key: dev.keyPem, ...tlsVersionRange(['tls1.2', 'tls1.3']) });
  t.after(() => server.close());
  return { dev, server };
}

test('a client trusting only the development CA connects by name, IPv4 and IPv6', async (t) => {
  const { dev, server } = await devServer(t);
  const byName = await handshake({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: dev.caPem });
  assert.deepEqual(byName, { ok: true, protocol: 'TLSv1.3', data: 'hello' });
  // Without servername the client checks the address against the certificate's IP SANs.
  const byIpv4 = await handshake({ host: '127.0.0.1', port: server.port, ca: dev.caPem });
  assert.equal(byIpv4.ok, true, JSON.stringify(byIpv4));
  const byIpv6 = await handshake({ host: '::1', port: server.port, ca: dev.caPem });
  assert.equal(byIpv6.ok, true, JSON.stringify(byIpv6));
});

test('configured host names are usable as server names', async (t) => {
  const { dev, server } = await devServer(t, ['gateway.test', '192.0.2.44']);
  const result = await handshake({ host: '127.0.0.1', port: server.port, servername: 'gateway.test', ca: dev.caPem });
  assert.equal(result.ok, true, JSON.stringify(result));
});

test('clients that do not trust the development CA are refused', async (t) => {
  const { server } = await devServer(t);
  const systemTrust = await handshake({ host: '127.0.0.1', port: server.port, servername: 'localhost' });
  assert.equal(systemTrust.ok, false);
  assert.equal(systemTrust.ok ? '' : systemTrust.code, 'SELF_SIGNED_CERT_IN_CHAIN');
  const otherCa = ensureDevCertificates({ dataDir: tempDir(t), hostnames: [], logger: captureLogger().logger }).caPem;
  const wrongCa = await handshake({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: otherCa });
  assert.equal(wrongCa.ok ? '' : wrongCa.code, 'SELF_SIGNED_CERT_IN_CHAIN');
});

test('a name the certificate does not cover is refused', async (t) => {
  const { dev, server } = await devServer(t);
  const result = await handshake({ host: '127.0.0.1', port: server.port, servername: 'elsewhere.example', ca: dev.caPem });
  assert.equal(result.ok ? '' : result.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});
