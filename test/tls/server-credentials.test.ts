import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, loadServerCredentials, type ServerCredentialsOptions } from '../../src/tls/index.js';
import { isOutpostError, type ErrorCode } from '../../src/errors/index.js';
import { captureLogger, handshake, startTlsServer, tempDir } from './tls-test-helpers.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const now = new Date();
const inDays = (days: number): Date => new Date(now.getTime() + days * DAY_MS);
const ecKeys = (): { publicKey: KeyObject; privateKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const keyPem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

function load(dir: string, options: Partial<ServerCredentialsOptions>): ReturnType<typeof loadServerCredentials> {
  return loadServerCredentials({ dataDir: join(dir, 'data'), hostnames: [], logger: captureLogger().logger, ...options });
}

/** Asserts an OutpostError with `code` whose message and details both name `file`. */
function assertFails(fn: () => unknown, code: ErrorCode, file: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isOutpostError(error), String(error));
    assert.equal(error.code, code);
    assert.ok(error.message.includes(file), `message names ${file}: ${error.message}`);
    assert.ok(Object.values(error.details ?? {}).includes(file), `details name ${file}`);
    return true;
  });
}

/** Root CA, intermediate and server certificate made with our builder, written into `dir`. */
function operatorPki(dir: string, validity: { notBefore: Date; notAfter: Date } = { notBefore: now, notAfter: inDays(90) }) {
  const rootKeys = ecKeys();
  const rootPem = issueCertificate({ subject: { commonName: 'Operator Root' }, publicKey: rootKeys.publicKey, signingKey: rootKeys.privateKey, issuer: 'self', notBefore: now, notAfter: inDays(3650), isCa: true });
  const interKeys = ecKeys();
  const interPem = issueCertificate({ subject: { commonName: 'Operator Intermediate' }, publicKey: interKeys.publicKey, signingKey: rootKeys.privateKey, issuer: rootPem, notBefore: now, notAfter: inDays(1000), isCa: true, pathLenConstraint: 0 });
  const serverKeys = ecKeys();
  const serverPem = issueCertificate({
    subject: { commonName: 'hub.operator.test' },
    publicKey: serverKeys.publicKey,
    signingKey: interKeys.privateKey,
    issuer: interPem,
    ...validity,
    extKeyUsage: ['serverAuth'],
    subjectAltNames: { dns: ['hub.operator.test'] },
  });
  const files = { certFile: join(dir, 'chain.pem'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'root.pem') };
  // Text around the blocks, as openssl pkcs12 writes it, must not disturb parsing.
  writeFileSync(files.certFile, `Bag Attributes\n${serverPem}subject=/CN=Operator Intermediate\n${interPem}`);
  writeFileSync(files.keyFile, keyPem(serverKeys.privateKey));
  writeFileSync(files.caFile, rootPem);
  return { files, rootPem, interPem, serverPem, serverKeys };
}

test('without certFile and keyFile the development CA is used', (t) => {
  const dir = tempDir(t);
  const log = captureLogger();
  const credentials = loadServerCredentials({ dataDir: join(dir, 'data'), hostnames: ['gw.test'], logger: log.logger, certFile: null, keyFile: undefined });
  assert.equal(credentials.source, 'development');
  assert.equal(credentials.caFile, join(dir, 'data', 'certs', 'dev-ca.pem'));
  assert.equal(credentials.ca, readFileSync(credentials.caFile, 'utf8'));
  assert.equal(credentials.cert, readFileSync(credentials.certFile, 'utf8'));
  assert.equal(credentials.key, readFileSync(credentials.keyFile, 'utf8'));
  assert.equal(credentials.notAfter.getTime(), new Date(new X509Certificate(credentials.cert).validTo).getTime());
  assert.equal(new X509Certificate(credentials.cert).checkHost('gw.test'), 'gw.test');
  assert.ok(log.events().includes('tls.dev_ca'));
});

test('a caFile without certificate and key is ignored with a warning', (t) => {
  const dir = tempDir(t);
  const log = captureLogger();
  const credentials = loadServerCredentials({ dataDir: dir, hostnames: [], logger: log.logger, caFile: join(dir, 'some-ca.pem') });
  assert.equal(credentials.source, 'development');
  assert.equal(credentials.caFile, join(dir, 'certs', 'dev-ca.pem'));
  assert.equal(log.lines.find((line) => line.event === 'tls.ca_file_ignored')?.level, 'warn');
});

test('operator chain, key and CA bundle are loaded and serve real TLS', async (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir);
  const log = captureLogger();
  const credentials = loadServerCredentials({ ...pki.files, dataDir: join(dir, 'data'), hostnames: [], logger: log.logger });
  assert.equal(credentials.source, 'operator');
  assert.equal(credentials.cert, pki.serverPem + pki.interPem);
  assert.equal(credentials.key, keyPem(pki.serverKeys.privateKey));
  assert.equal(credentials.ca, pki.rootPem);
  assert.equal(credentials.caFile, pki.files.caFile);
  assert.equal(credentials.certFile, pki.files.certFile);
  assert.equal(credentials.notAfter.getTime(), new Date(new X509Certificate(pki.serverPem).validTo).getTime());
  assert.ok(log.events().includes('tls.server_credentials'));
  assert.ok(!log.lines.some((line) => line.level === 'warn'), 'a good chain raises no warnings');

  const server = await startTlsServer({ cert: credentials.cert, key: credentials.key });
  t.after(() => server.close());
  const result = await handshake({ host: '127.0.0.1', port: server.port, servername: 'hub.operator.test', ca: credentials.ca });
  assert.equal(result.ok, true, JSON.stringify(result));
});

test('without caFile the last certificate of the chain is the trust anchor', (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir);
  const credentials = load(dir, { certFile: pki.files.certFile, keyFile: pki.files.keyFile });
  assert.equal(credentials.ca, pki.interPem);
  assert.equal(credentials.caFile, null);
});

test('an openssl-made self-signed certificate is accepted', (t) => {
  const dir = tempDir(t);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '30', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const credentials = load(dir, { certFile, keyFile });
  assert.equal(credentials.source, 'operator');
  assert.equal(credentials.ca, readFileSync(certFile, 'utf8'));
});

test('missing or unparsable files fail with OUTPOST_TLS_CERT_UNREADABLE naming the file', (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir);
  const missing = join(dir, 'missing.pem');
  assertFails(() => load(dir, { certFile: missing, keyFile: pki.files.keyFile }), 'OUTPOST_TLS_CERT_UNREADABLE', missing);
  assertFails(() => load(dir, { certFile: pki.files.certFile, keyFile: missing }), 'OUTPOST_TLS_CERT_UNREADABLE', missing);
  assertFails(() => load(dir, { ...pki.files, caFile: missing }), 'OUTPOST_TLS_CERT_UNREADABLE', missing);
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'hello\n');
  assertFails(() => load(dir, { certFile: garbage, keyFile: pki.files.keyFile }), 'OUTPOST_TLS_CERT_UNREADABLE', garbage);
  assertFails(() => load(dir, { certFile: pki.files.certFile, keyFile: garbage }), 'OUTPOST_TLS_CERT_UNREADABLE', garbage);
  const broken = join(dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  assertFails(() => load(dir, { certFile: broken, keyFile: pki.files.keyFile }), 'OUTPOST_TLS_CERT_UNREADABLE', broken);
  const encrypted = join(dir, 'encrypted.key');
  writeFileSync(encrypted, pki.serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }));
  assertFails(() => load(dir, { certFile: pki.files.certFile, keyFile: encrypted }), 'OUTPOST_TLS_CERT_UNREADABLE', encrypted);
});

test('a key that does not belong to the certificate fails with OUTPOST_TLS_KEY_MISMATCH', (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir);
  const otherKey = join(dir, 'other.key');
  writeFileSync(otherKey, keyPem(ecKeys().privateKey));
  assertFails(() => load(dir, { certFile: pki.files.certFile, keyFile: otherKey }), 'OUTPOST_TLS_KEY_MISMATCH', otherKey);
  writeFileSync(otherKey, keyPem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey));
  assertFails(() => load(dir, { certFile: pki.files.certFile, keyFile: otherKey }), 'OUTPOST_TLS_KEY_MISMATCH', otherKey);
});

test('expired and not-yet-valid certificates fail with OUTPOST_TLS_CERT_EXPIRED', (t) => {
  const expiredDir = tempDir(t);
  const expired = operatorPki(expiredDir, { notBefore: inDays(-30), notAfter: inDays(-1) });
  assertFails(() => load(expiredDir, expired.files), 'OUTPOST_TLS_CERT_EXPIRED', expired.files.certFile);
  const futureDir = tempDir(t);
  const future = operatorPki(futureDir, { notBefore: inDays(2), notAfter: inDays(30) });
  assertFails(() => load(futureDir, future.files), 'OUTPOST_TLS_CERT_EXPIRED', future.files.certFile);
  // The `now` option moves the clock: the same certificate is fine three days later.
  assert.equal(load(futureDir, { ...future.files, now: inDays(3) }).source, 'operator');
});

test('a certificate close to expiry loads with a warning', (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir, { notBefore: now, notAfter: inDays(10) });
  const log = captureLogger();
  loadServerCredentials({ ...pki.files, dataDir: dir, hostnames: [], logger: log.logger });
  assert.equal(log.lines.find((line) => line.event === 'tls.cert_expiring')?.level, 'warn');
});

test('a misordered chain loads with a warning', (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir);
  writeFileSync(pki.files.certFile, pki.serverPem + pki.rootPem + pki.interPem);
  const log = captureLogger();
  loadServerCredentials({ ...pki.files, dataDir: dir, hostnames: [], logger: log.logger });
  assert.equal(log.lines.find((line) => line.event === 'tls.chain_order')?.position, 1);
});

test('only one of certFile and keyFile fails and says both are needed', (t) => {
  const dir = tempDir(t);
  const pki = operatorPki(dir);
  for (const options of [{ certFile: pki.files.certFile }, { keyFile: pki.files.keyFile, certFile: null }]) {
    const file = options.certFile ?? options.keyFile ?? '';
    assertFails(() => load(dir, options), 'OUTPOST_TLS_CERT_UNREADABLE', file);
    assert.throws(() => load(dir, options), /both a certificate file and a key file/);
  }
});
