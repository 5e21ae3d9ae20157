import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, keyIdentifier, readCertificateFields, type IssueCertificateOptions } from '../../src/tls/index.js';
import { isOutpostError } from '../../src/errors/index.js';
import { opensslText, tempDir } from './tls-test-helpers.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const now = new Date();
const inDays = (days: number): Date => new Date(now.getTime() + days * DAY_MS);
const ecKeys = (): { publicKey: KeyObject; privateKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function selfSignedCa(keys = ecKeys(), extra: Partial<IssueCertificateOptions> = {}): { pem: string; cert: X509Certificate; keys: typeof keys } {
  const pem = issueCertificate({
    subject: { commonName: 'Test Root', organization: 'Outpost Tests' },
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    issuer: 'self',
    notBefore: now,
    notAfter: inDays(365),
    isCa: true,
    pathLenConstraint: 1,
    ...extra,
  });
  return { pem, cert: new X509Certificate(pem), keys };
}

/** Runs `openssl verify` and returns whether it accepted the chain, with its output. */
function opensslVerify(dir: string, root: string, leaf: string, args: string[] = [], untrusted?: string): { ok: boolean; output: string } {
  writeFileSync(join(dir, 'root.pem'), root);
  writeFileSync(join(dir, 'leaf.pem'), leaf);
  if (untrusted !== undefined) writeFileSync(join(dir, 'untrusted.pem'), untrusted);
  const result = spawnSync(
    'openssl',
    ['verify', '-CAfile', join(dir, 'root.pem'), ...(untrusted === undefined ? [] : ['-untrusted', join(dir, 'untrusted.pem')]), ...args, join(dir, 'leaf.pem')],
    { encoding: 'utf8' },
  );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

test('a self-signed CA parses, verifies itself and carries CA extensions', () => {
  const ca = selfSignedCa();
  assert.equal(ca.cert.subject, 'O=Outpost Tests\nCN=Test Root');
  assert.equal(ca.cert.issuer, ca.cert.subject);
  assert.equal(ca.cert.ca, true);
  assert.equal(ca.cert.verify(ca.cert.publicKey), true);
  assert.equal(ca.cert.checkIssued(ca.cert), true);
  assert.match(ca.cert.serialNumber, /^[0-9A-F]{32}$/, 'default serial is 16 octets');
  const text = opensslText(ca.pem);
  assert.match(text, /Version: 3 \(0x2\)/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  const ski = /X509v3 Subject Key Identifier: \s*\n\s*([0-9A-F:]+)/.exec(text)?.[1];
  assert.ok(ski !== undefined);
  assert.match(text, new RegExp(`X509v3 Authority Key Identifier: \\s*\\n\\s*(keyid:)?${ski}`));
  assert.doesNotMatch(text, /Extended Key Usage/);
});

test('a server certificate has the right names, SANs and extensions and chains to its CA', (t) => {
  const dir = tempDir(t);
  const ca = selfSignedCa();
  const leafKeys = ecKeys();
  const pem = issueCertificate({
    subject: { commonName: 'gateway.example' },
    publicKey: leafKeys.publicKey,
    signingKey: ca.keys.privateKey,
    issuer: ca.pem,
    notBefore: now,
    notAfter: inDays(30),
    extKeyUsage: ['serverAuth'],
    subjectAltNames: { dns: ['gateway.example', 'localhost', 'bücher.example'], ip: ['127.0.0.1', '::1', '10.0.0.7'] },
  });
  const leaf = new X509Certificate(pem);
  assert.equal(leaf.subject, 'CN=gateway.example');
  assert.equal(leaf.issuer, ca.cert.subject);
  assert.equal(leaf.ca, false);
  assert.equal(
    leaf.subjectAltName,
    'DNS:gateway.example, DNS:localhost, DNS:xn--bcher-kva.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.7',
  );
  assert.equal(leaf.checkIP('::1'), '::1');
  assert.equal(leaf.checkHost('gateway.example'), 'gateway.example');
  assert.equal(leaf.verify(ca.cert.publicKey), true);
  assert.equal(leaf.verify(ecKeys().publicKey), false);
  assert.equal(leaf.checkIssued(ca.cert), true);
  assert.equal(leaf.checkPrivateKey(leafKeys.privateKey), true);
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const text = opensslText(pem);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
  assert.match(text, /X509v3 Extended Key Usage: \s*\n\s*TLS Web Server Authentication\n/);
  assert.match(text, /X509v3 Subject Key Identifier/);
  // AuthorityKeyIdentifier must name the CA's SubjectKeyIdentifier, or path builders skip the CA.
  const caSki = readCertificateFields(ca.cert).subjectKeyIdentifier?.toString('hex').toUpperCase().match(/../g)?.join(':');
  assert.match(text, new RegExp(`X509v3 Authority Key Identifier: \\s*\\n\\s*(keyid:)?${caSki}`));
  assert.ok(opensslVerify(dir, ca.pem, pem, ['-purpose', 'sslserver', '-verify_hostname', 'gateway.example']).ok);
  assert.equal(opensslVerify(dir, ca.pem, pem, ['-purpose', 'sslclient']).ok, false, 'serverAuth only');
});

test('root, intermediate and RSA client certificate form a chain openssl accepts', (t) => {
  const dir = tempDir(t);
  const root = selfSignedCa();
  const intermediateKeys = ecKeys();
  const intermediatePem = issueCertificate({
    subject: { commonName: 'Test Intermediate' },
    publicKey: intermediateKeys.publicKey,
    signingKey: root.keys.privateKey,
    issuer: root.cert,
    notBefore: now,
    notAfter: inDays(100),
    isCa: true,
    pathLenConstraint: 0,
  });
  const deviceKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const devicePem = issueCertificate({
    subject: { commonName: 'device-1' },
    publicKey: deviceKeys.privateKey, // the public half is taken from a private key too
    signingKey: intermediateKeys.privateKey,
    issuer: intermediatePem,
    notBefore: now,
    notAfter: inDays(10),
    extKeyUsage: ['clientAuth'],
  });
  const device = new X509Certificate(devicePem);
  assert.equal(device.issuer, 'CN=Test Intermediate');
  assert.equal(device.subjectAltName, undefined, 'no SAN extension without names');
  assert.match(opensslText(devicePem), /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(opensslText(intermediatePem), /CA:TRUE, pathlen:0/);
  const verdict = opensslVerify(dir, root.pem, devicePem, ['-purpose', 'sslclient'], intermediatePem);
  assert.ok(verdict.ok, verdict.output);
  assert.equal(opensslVerify(dir, root.pem, devicePem, ['-purpose', 'sslclient']).ok, false, 'needs the intermediate');
});

test('RSA and Ed25519 signers use their signature algorithms', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaCa = selfSignedCa(rsa);
  assert.match(opensslText(rsaCa.pem), /Signature Algorithm: sha256WithRSAEncryption/);
  assert.equal(rsaCa.cert.verify(rsa.publicKey), true);
  const ed = generateKeyPairSync('ed25519');
  const edCa = selfSignedCa(ed);
  assert.match(opensslText(edCa.pem), /Signature Algorithm: ED25519/);
  assert.equal(edCa.cert.verify(ed.publicKey), true);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  assert.match(opensslText(selfSignedCa(p384).pem), /Signature Algorithm: ecdsa-with-SHA384/);
});

test('validity beyond 2049 uses GeneralizedTime and reads back exactly', () => {
  const notBefore = new Date('2049-06-01T12:00:00Z');
  const notAfter = new Date('2051-03-04T05:06:07Z');
  const ca = selfSignedCa(ecKeys(), { notBefore, notAfter });
  assert.deepEqual(readCertificateFields(ca.cert), { ...readCertificateFields(ca.cert), notBefore, notAfter });
  assert.equal(ca.cert.validTo, 'Mar  4 05:06:07 2051 GMT');
  assert.match(execFileSync('openssl', ['asn1parse'], { input: ca.pem, encoding: 'utf8' }), /UTCTIME\s+:490601120000Z[\s\S]*GENERALIZEDTIME\s+:20510304050607Z/);
});

test('explicit serial numbers are kept, default serials differ', () => {
  const big = 0x7fffffffffffffffffffffffffffffffn;
  assert.equal(selfSignedCa(ecKeys(), { serialNumber: big }).cert.serialNumber, big.toString(16).toUpperCase());
  assert.equal(selfSignedCa(ecKeys(), { serialNumber: Buffer.from([0x00, 0x2a]) }).cert.serialNumber, '2A');
  assert.notEqual(selfSignedCa().cert.serialNumber, selfSignedCa().cert.serialNumber);
  assert.throws(() => selfSignedCa(ecKeys(), { serialNumber: 0n }), isOutpostError);
  assert.throws(() => selfSignedCa(ecKeys(), { serialNumber: Buffer.alloc(21, 1) }), isOutpostError);
});

test('a certificate signed by the wrong key is issued but fails verification', (t) => {
  const dir = tempDir(t);
  const ca = selfSignedCa();
  const pem = issueCertificate({
    subject: { commonName: 'forged' },
    publicKey: ecKeys().publicKey,
    signingKey: ecKeys().privateKey,
    issuer: ca.cert,
    notBefore: now,
    notAfter: inDays(1),
  });
  const forged = new X509Certificate(pem);
  assert.equal(forged.checkIssued(ca.cert), true, 'names and key ids still point at the CA');
  assert.equal(forged.verify(ca.cert.publicKey), false);
  assert.equal(opensslVerify(dir, ca.pem, pem).ok, false);
});

test('invalid options are rejected', () => {
  const keys = ecKeys();
  const base: IssueCertificateOptions = { subject: { commonName: 'x' }, publicKey: keys.publicKey, signingKey: keys.privateKey, issuer: 'self', notBefore: now, notAfter: inDays(1) };
  assert.throws(() => issueCertificate({ ...base, notAfter: now }), isOutpostError);
  assert.throws(() => issueCertificate({ ...base, pathLenConstraint: 0 }), isOutpostError);
  assert.throws(() => issueCertificate({ ...base, subjectAltNames: { ip: ['not-an-ip'] } }), isOutpostError);
  assert.throws(() => issueCertificate({ ...base, signingKey: keys.publicKey }), isOutpostError);
  assert.throws(() => issueCertificate({ ...base, subject: { commonName: '' } }), isOutpostError);
});

test('fields and key identifiers agree with an openssl-made certificate', (t) => {
  const dir = tempDir(t);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/O=Acme/CN=op', '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const parsed = new X509Certificate(readFileSync(cert));
  const fields = readCertificateFields(parsed);
  assert.equal(fields.notAfter.getTime(), new Date(parsed.validTo).getTime());
  assert.equal(fields.notBefore.getTime(), new Date(parsed.validFrom).getTime());
  // openssl's default subjectKeyIdentifier=hash is RFC 5280 method (1), which keyIdentifier implements.
  const spki = parsed.publicKey.export({ type: 'spki', format: 'der' });
  assert.deepEqual(fields.subjectKeyIdentifier, keyIdentifier(spki));
  // Issued under the openssl CA, the issuer name is its subject byte for byte.
  const childPem = issueCertificate({
    subject: { commonName: 'child' },
    publicKey: ecKeys().publicKey,
    signingKey: createPrivateKey(readFileSync(key)),
    issuer: parsed,
    notBefore: now,
    notAfter: inDays(1),
  });
  assert.deepEqual(readCertificateFields(new X509Certificate(childPem)).issuerNameDer, fields.subjectNameDer);
  assert.ok(opensslVerify(dir, readFileSync(cert, 'utf8'), childPem).ok);
});

test('an issuer without a subject key identifier yields no authority key identifier', (t) => {
  const dir = tempDir(t);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=no-ski', '-days', '2', '-addext', 'subjectKeyIdentifier=none', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  const issuer = new X509Certificate(readFileSync(cert));
  assert.equal(readCertificateFields(issuer).subjectKeyIdentifier, null);
  const childPem = issueCertificate({
    subject: { commonName: 'child' },
    publicKey: ecKeys().publicKey,
    signingKey: createPrivateKey(readFileSync(key)),
    issuer,
    notBefore: now,
    notAfter: inDays(1),
  });
  assert.doesNotMatch(opensslText(childPem), /Authority Key Identifier/);
  assert.ok(opensslVerify(dir, readFileSync(cert, 'utf8'), childPem).ok);
});
