import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDevCertificates, splitPemCertificates, type DevCertificates } from '../../src/tls/index.js';
import { isOutpostError } from '../../src/errors/index.js';
import { captureLogger, tempDir } from './tls-test-helpers.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const start = new Date();
const later = (days: number): Date => new Date(start.getTime() + days * DAY_MS);

function ensure(dataDir: string, hostnames: readonly string[] = [], now = start): { result: DevCertificates; log: ReturnType<typeof captureLogger> } {
  const log = captureLogger();
  const result = ensureDevCertificates({ dataDir, hostnames, logger: log.logger, now });
  return { result, log };
}

function fileBytes(result: DevCertificates): string[] {
  return [result.caFile, result.certFile, result.keyFile, join(result.caFile, '..', 'dev-ca.key.pem')].map((file) => readFileSync(file, 'hex'));
}

const leafOf = (result: DevCertificates): X509Certificate => new X509Certificate(result.certPem);

test('first start creates a CA and a server certificate covering loopback and the given names', (t) => {
  const dataDir = join(tempDir(t), 'nested', 'data');
  const { result, log } = ensure(dataDir, ['Edge-GW.example', '10.1.2.3', 'edge-gw.example.', '[fd00::5]']);
  assert.deepEqual(result.created, { ca: true, server: true });
  assert.equal(result.caFile, join(dataDir, 'certs', 'dev-ca.pem'));
  assert.equal(result.certFile, join(dataDir, 'certs', 'server.pem'));
  assert.equal(result.keyFile, join(dataDir, 'certs', 'server.key.pem'));
  assert.equal(readFileSync(result.caFile, 'utf8'), result.caPem);
  assert.equal(readFileSync(result.certFile, 'utf8'), result.certPem);
  assert.equal(readFileSync(result.keyFile, 'utf8'), result.keyPem);

  const ca = new X509Certificate(result.caPem);
  const chain = splitPemCertificates(result.certPem);
  assert.equal(chain.length, 2, 'server.pem holds the server certificate then the CA');
  assert.equal(chain[1], result.caPem);
  const leaf = leafOf(result);
  assert.equal(ca.ca, true);
  assert.equal(leaf.ca, false);
  assert.equal(leaf.checkIssued(ca), true);
  assert.equal(leaf.verify(ca.publicKey), true);
  assert.equal(
    leaf.subjectAltName,
    'DNS:localhost, DNS:edge-gw.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:5',
  );
  const daysLeft = (new Date(leaf.validTo).getTime() - start.getTime()) / DAY_MS;
  assert.ok(daysLeft > 360 && daysLeft <= 366, `server certificate lasts about a year (${daysLeft} days)`);
  assert.ok((new Date(ca.validTo).getTime() - start.getTime()) / DAY_MS > 4 * 365, 'CA lasts years');

  const info = log.lines.find((line) => line.event === 'tls.dev_ca');
  assert.equal(info?.caFile, result.caFile);
  assert.equal(info?.level, 'info');
  assert.ok(log.events().includes('tls.dev_ca_created'));
  assert.ok(!log.lines.some((line) => line.level === 'warn'));
});

test('private keys are written mode 0600 and no temporary files are left', (t) => {
  const { result } = ensure(tempDir(t));
  const certsDir = join(result.caFile, '..');
  assert.equal(statSync(result.keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(certsDir, 'dev-ca.key.pem')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(certsDir).sort(), ['dev-ca.key.pem', 'dev-ca.pem', 'server.key.pem', 'server.pem']);
});

test('a restart reuses both certificates and leaves the files untouched', (t) => {
  const dataDir = tempDir(t);
  const first = ensure(dataDir, ['gw.example']).result;
  const before = fileBytes(first);
  const { result: second, log } = ensure(dataDir, ['gw.example'], later(1));
  assert.deepEqual(second.created, { ca: false, server: false });
  assert.deepEqual(fileBytes(second), before);
  assert.equal(second.certPem, first.certPem);
  assert.equal(second.keyPem, first.keyPem);
  assert.equal(second.caPem, first.caPem);
  assert.equal(log.lines.find((line) => line.event === 'tls.dev_ca')?.caFile, first.caFile, 'the CA file is logged on every start');
  assert.ok(!log.events().includes('tls.dev_server_cert_issued'));
});

test('a new host name reissues only the server certificate, under the same CA', (t) => {
  const dataDir = tempDir(t);
  const first = ensure(dataDir, ['old.example']).result;
  const { result: second, log } = ensure(dataDir, ['old.example', 'new.example', '192.0.2.10']);
  assert.deepEqual(second.created, { ca: false, server: true });
  assert.equal(second.caPem, first.caPem);
  assert.notEqual(second.keyPem, first.keyPem);
  const leaf = leafOf(second);
  assert.equal(leaf.checkHost('new.example'), 'new.example');
  assert.equal(leaf.checkIP('192.0.2.10'), '192.0.2.10');
  assert.equal(leaf.checkIssued(new X509Certificate(first.caPem)), true);
  const issued = log.lines.find((line) => line.event === 'tls.dev_server_cert_issued');
  assert.match(String(issued?.reason), /new\.example/);
});

test('the server certificate is renewed within 30 days of expiry, not before', (t) => {
  const dataDir = tempDir(t);
  const first = ensure(dataDir).result;
  const notAfter = new Date(leafOf(first).validTo);
  const notYet = ensure(dataDir, [], new Date(notAfter.getTime() - 31 * DAY_MS)).result;
  assert.deepEqual(notYet.created, { ca: false, server: false });
  const renewed = ensure(dataDir, [], new Date(notAfter.getTime() - 29 * DAY_MS)).result;
  assert.deepEqual(renewed.created, { ca: false, server: true });
  assert.equal(renewed.caPem, first.caPem);
  assert.ok(new Date(leafOf(renewed).validTo).getTime() > notAfter.getTime() + 300 * DAY_MS);
});

test('a corrupt CA file regenerates everything with a warning', (t) => {
  const dataDir = tempDir(t);
  const first = ensure(dataDir).result;
  writeFileSync(first.caFile, 'not a certificate\n');
  const { result, log } = ensure(dataDir);
  assert.deepEqual(result.created, { ca: true, server: true });
  assert.notEqual(result.caPem, first.caPem);
  assert.equal(readFileSync(result.caFile, 'utf8'), result.caPem);
  assert.equal(leafOf(result).verify(new X509Certificate(result.caPem).publicKey), true);
  const warning = log.lines.find((line) => line.event === 'tls.dev_ca_regenerated');
  assert.equal(warning?.level, 'warn');
  assert.equal(warning?.caFile, result.caFile);
  assert.match(String(warning?.msg), /trust the new CA/);
});

test('an expired CA is replaced', (t) => {
  const dataDir = tempDir(t);
  const first = ensure(dataDir).result;
  const { result, log } = ensure(dataDir, [], later(6 * 365));
  assert.deepEqual(result.created, { ca: true, server: true });
  assert.notEqual(result.caPem, first.caPem);
  assert.equal(log.lines.find((line) => line.event === 'tls.dev_ca_regenerated')?.reason, 'expired');
});

test('a server certificate from another CA or with a foreign key is reissued', (t) => {
  const dataDir = tempDir(t);
  const mine = ensure(dataDir).result;
  const other = ensure(tempDir(t)).result;
  writeFileSync(mine.certFile, other.certPem);
  writeFileSync(mine.keyFile, other.keyPem);
  const fromOtherCa = ensure(dataDir);
  assert.deepEqual(fromOtherCa.result.created, { ca: false, server: true });
  assert.equal(leafOf(fromOtherCa.result).checkIssued(new X509Certificate(mine.caPem)), true);
  assert.equal(fromOtherCa.log.lines.find((line) => line.event === 'tls.dev_server_cert_issued')?.reason, 'not issued by the development CA');

  writeFileSync(mine.keyFile, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const foreignKey = ensure(dataDir);
  assert.deepEqual(foreignKey.result.created, { ca: false, server: true });
  assert.equal(leafOf(foreignKey.result).checkPrivateKey(createPrivateKey(foreignKey.result.keyPem)), true);
});

test('an emptied server certificate or a deleted server key is reissued without touching the CA', (t) => {
  const dataDir = tempDir(t);
  const first = ensure(dataDir).result;
  writeFileSync(first.certFile, '');
  const emptied = ensure(dataDir).result;
  assert.deepEqual(emptied.created, { ca: false, server: true });
  assert.equal(emptied.caPem, first.caPem);
  rmSync(first.keyFile);
  const deleted = ensure(dataDir).result;
  assert.deepEqual(deleted.created, { ca: false, server: true });
  assert.equal(deleted.caPem, first.caPem);
  assert.equal(readFileSync(first.keyFile, 'utf8'), deleted.keyPem);
});

test('a data directory that cannot hold certs fails with OUTPOST_TLS_DEV_CA_FAILED', (t) => {
  const file = join(tempDir(t), 'plain-file');
  writeFileSync(file, 'x');
  assert.throws(
    () => ensure(file),
    (error: unknown) => isOutpostError(error) && error.code === 'OUTPOST_TLS_DEV_CA_FAILED' && error.message.includes(join(file, 'certs')),
  );
});

test('host names that cannot go into a certificate are left out with a warning', (t) => {
  const { result, log } = ensure(tempDir(t), ['bad name!', '  ', 'fe80::1%eth0', 'ok.example']);
  const leaf = leafOf(result);
  assert.equal(leaf.checkHost('ok.example'), 'ok.example');
  assert.doesNotMatch(leaf.subjectAltName ?? '', /bad|FE80/i);
  const warning = log.lines.find((line) => line.event === 'tls.dev_hostname_skipped');
  assert.deepEqual(warning?.hostnames, ['bad name!', '  ', 'fe80::1%eth0']);
});
