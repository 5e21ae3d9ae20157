import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureDevCertificates, tlsVersionRange, type TlsProtocol } from '../../src/tls/index.js';
import { isOutpostError } from '../../src/errors/index.js';
import { captureLogger, handshake, startTlsServer, tempDir } from './tls-test-helpers.js';

// OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; level 0 lets a test client offer
// them, so a refusal below shows the server's version range at work, not the client's defaults.
const LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0';

test('protocol lists map to the smallest covering version range', () => {
  assert.deepEqual(tlsVersionRange(['tls1.2', 'tls1.3']), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
  assert.deepEqual(tlsVersionRange(['tls1.3', 'tls1.2']), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
  assert.deepEqual(tlsVersionRange(['tls1.2']), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  assert.deepEqual(tlsVersionRange(['tls1.3']), { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  assert.throws(() => tlsVersionRange([]), isOutpostError);
  assert.throws(() => tlsVersionRange(['tls1.1' as TlsProtocol]), isOutpostError);
});

test('servers enforce the configured TLS versions', async (t) => {
  const dev = ensureDevCertificates({ dataDir: tempDir(t), hostnames: [], logger: captureLogger().logger });
  const credentials = { cert: dev.certPem, key: dev.keyPem };
  const client = { host: '127.0.0.1', servername: 'localhost', ca: dev.caPem };
  const modern = await startTlsServer({ ...credentials, ...tlsVersionRange(['tls1.2', 'tls1.3']) });
  t.after(() => modern.close());
  const tls13Only = await startTlsServer({ ...credentials, ...tlsVersionRange(['tls1.3']) });
  t.after(() => tls13Only.close());
  const legacy = await startTlsServer({ ...credentials, minVersion: 'TLSv1.1', ciphers: LEGACY_CIPHERS });
  t.after(() => legacy.close());

  const tls11Client = { ...client, minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const, ciphers: LEGACY_CIPHERS };
  const control = await handshake({ ...tls11Client, port: legacy.port });
  assert.deepEqual(control, { ok: true, protocol: 'TLSv1.1', data: 'hello' }, 'the TLS 1.1 client works where 1.1 is allowed');
  const refused11 = await handshake({ ...tls11Client, port: modern.port });
  assert.equal(refused11.ok, false);
  assert.equal(refused11.ok ? '' : refused11.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');

  const tls12Client = { ...client, minVersion: 'TLSv1.2' as const, maxVersion: 'TLSv1.2' as const };
  assert.deepEqual(await handshake({ ...tls12Client, port: modern.port }), { ok: true, protocol: 'TLSv1.2', data: 'hello' });
  const refused12 = await handshake({ ...tls12Client, port: tls13Only.port });
  assert.equal(refused12.ok ? '' : refused12.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  assert.deepEqual(await handshake({ ...client, port: tls13Only.port }), { ok: true, protocol: 'TLSv1.3', data: 'hello' });
});
