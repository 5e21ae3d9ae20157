import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { X509Verifier, type AuthResult, type IdentityRegistry } from '../../src/hub/auth/index.js';
import { makeCertificate, NOW_MS, openRegistry, peerCertificate, type TestCertificate } from './auth-test-helpers.js';

const DAY_MS = 24 * 3600 * 1000;
const thumbprint = (certificate: TestCertificate, algorithm: 'sha1' | 'sha256') => createHash(algorithm).update(certificate.x509.raw).digest('hex').toUpperCase();

interface Setup {
  registry: IdentityRegistry;
  verifier: X509Verifier;
  root: TestCertificate;
  intermediate: TestCertificate;
}

function setup(t: TestContext): Setup {
  const { registry } = openRegistry(t);
  const root = makeCertificate({ commonName: 'Device Root CA', isCa: true });
  const intermediate = makeCertificate({ commonName: 'Device Intermediate CA', isCa: true, issuer: root });
  const verifier = new X509Verifier({ registry, trustedCas: [root.x509], clockSkewMs: 5 * 60_000, now: () => NOW_MS });
  return { registry, verifier, root, intermediate };
}

function accepted(result: AuthResult): Extract<AuthResult, { ok: true }>['identity'] {
  assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.detail} / ${result.logDetail}`);
  return result.identity;
}

function refused(result: AuthResult, detail: RegExp, code = 'OUTPOST_AUTH_BAD_CREDENTIALS'): void {
  assert.ok(!result.ok, 'expected a refusal');
  assert.equal(result.code, code);
  assert.match(`${result.detail} / ${result.logDetail ?? ''}`, detail);
}

describe('X.509 self-signed (thumbprint)', () => {
  it('accepts the certificate whose SHA-1 or SHA-256 thumbprint is registered, primary or secondary', (t) => {
    const { registry, verifier } = setup(t);
    const first = makeCertificate({ commonName: 'whatever' });
    const second = makeCertificate({ commonName: 'rolled-over' });
    registry.add({ deviceId: 'thumb1', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(first, 'sha1'), secondaryThumbprint: thumbprint(second, 'sha256') } });
    assert.deepEqual(accepted(verifier.verify(peerCertificate(first), 'thumb1')), { kind: 'device', deviceId: 'thumb1', authMethod: 'x509-thumbprint' });
    accepted(verifier.verify(peerCertificate(second), 'thumb1'));
  });

  it('refuses another certificate, even with the device id as common name', (t) => {
    const { registry, verifier } = setup(t);
    const registered = makeCertificate({ commonName: 'thumb1' });
    registry.add({ deviceId: 'thumb1', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(registered, 'sha256') } });
    refused(verifier.verify(peerCertificate(makeCertificate({ commonName: 'thumb1' })), 'thumb1'), /matches neither thumbprint/);
  });

  it('works for modules', (t) => {
    const { registry, verifier } = setup(t);
    const certificate = makeCertificate({ commonName: 'm' });
    registry.add({ deviceId: 'd' });
    registry.add({ deviceId: 'd', moduleId: 'm', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(certificate, 'sha1') } });
    assert.deepEqual(accepted(verifier.verify(peerCertificate(certificate), 'd', 'm')), { kind: 'module', deviceId: 'd', moduleId: 'm', authMethod: 'x509-thumbprint' });
  });

  it('refuses expired and not-yet-valid certificates', (t) => {
    const { registry, verifier } = setup(t);
    const expired = makeCertificate({ commonName: 'x', notBefore: new Date(NOW_MS - 10 * DAY_MS), notAfter: new Date(NOW_MS - DAY_MS) });
    const future = makeCertificate({ commonName: 'x', notBefore: new Date(NOW_MS + DAY_MS), notAfter: new Date(NOW_MS + 10 * DAY_MS) });
    registry.add({ deviceId: 'old', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(expired, 'sha1') } });
    registry.add({ deviceId: 'new', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(future, 'sha1') } });
    refused(verifier.verify(peerCertificate(expired), 'old'), /expired/);
    refused(verifier.verify(peerCertificate(future), 'new'), /not yet valid/);
  });

  it('refuses a certificate restricted to server authentication', (t) => {
    const { registry, verifier } = setup(t);
    const server = makeCertificate({ commonName: 's', extKeyUsage: ['serverAuth'] });
    registry.add({ deviceId: 's', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(server, 'sha1') } });
    refused(verifier.verify(peerCertificate(server), 's'), /extended key usage/);
    const client = makeCertificate({ commonName: 'c', extKeyUsage: ['clientAuth'] });
    registry.add({ deviceId: 'c', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(client, 'sha1') } });
    accepted(verifier.verify(peerCertificate(client), 'c'));
  });

  it('refuses a SAS identity presenting a certificate, and disabled identities', (t) => {
    const { registry, verifier } = setup(t);
    const certificate = makeCertificate({ commonName: 'sas-dev' });
    registry.add({ deviceId: 'sas-dev' });
    refused(verifier.verify(peerCertificate(certificate), 'sas-dev'), /does not authenticate with a certificate/);
    registry.add({ deviceId: 'off', status: 'disabled', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint(certificate, 'sha1') } });
    refused(verifier.verify(peerCertificate(certificate), 'off'), /disabled/, 'OUTPOST_AUTH_IDENTITY_DISABLED');
  });

  it('refuses garbage instead of a certificate', (t) => {
    const { registry, verifier } = setup(t);
    registry.add({ deviceId: 'd', authentication: { type: 'selfSigned', primaryThumbprint: 'A'.repeat(40) } });
    refused(verifier.verify({ raw: Buffer.from('not a certificate') } as never, 'd'), /cannot be parsed/);
  });
});

describe('X.509 CA-signed', () => {
  it('accepts a device certificate signed by the trusted CA with the device id as CN', (t) => {
    const { registry, verifier, root } = setup(t);
    registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
    const leaf = makeCertificate({ commonName: 'ca-dev', issuer: root });
    assert.deepEqual(accepted(verifier.verify(peerCertificate(leaf), 'ca-dev')), { kind: 'device', deviceId: 'ca-dev', authMethod: 'x509-ca' });
  });

  it('follows intermediates the client sent', (t) => {
    const { registry, verifier, intermediate } = setup(t);
    registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
    const leaf = makeCertificate({ commonName: 'ca-dev', issuer: intermediate });
    refused(verifier.verify(peerCertificate(leaf), 'ca-dev'), /no chain to a CA/);
    accepted(verifier.verify(peerCertificate(leaf, [intermediate]), 'ca-dev'));
  });

  it('refuses a certificate from an untrusted CA, even one with the same name', (t) => {
    const { registry, verifier } = setup(t);
    registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
    const impostor = makeCertificate({ commonName: 'Device Root CA', isCa: true });
    const leaf = makeCertificate({ commonName: 'ca-dev', issuer: impostor });
    refused(verifier.verify(peerCertificate(leaf, [impostor]), 'ca-dev'), /not from a trusted CA/);
  });

  it('refuses a chain through a certificate that is not a CA', (t) => {
    const { registry, verifier, root } = setup(t);
    registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
    const notCa = makeCertificate({ commonName: 'other-device', issuer: root });
    const leaf = makeCertificate({ commonName: 'ca-dev', issuer: notCa });
    refused(verifier.verify(peerCertificate(leaf, [notCa]), 'ca-dev'), /not from a trusted CA/);
  });

  it('binds the certificate to the identity: the CN must be the device id', (t) => {
    const { registry, verifier, root } = setup(t);
    registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
    registry.add({ deviceId: 'ca-dev2', authentication: { type: 'certificateAuthority' } });
    const leaf = makeCertificate({ commonName: 'ca-dev', issuer: root });
    refused(verifier.verify(peerCertificate(leaf), 'ca-dev2'), /common name/);
  });

  it('refuses an expired intermediate, and everything when no CA is configured', (t) => {
    const { registry, verifier, root } = setup(t);
    registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
    const old = makeCertificate({ commonName: 'Old Intermediate', isCa: true, issuer: root, notBefore: new Date(NOW_MS - 10 * DAY_MS), notAfter: new Date(NOW_MS - DAY_MS) });
    refused(verifier.verify(peerCertificate(makeCertificate({ commonName: 'ca-dev', issuer: old }), [old]), 'ca-dev'), /intermediate CA certificate has expired/);

    const none = new X509Verifier({ registry, trustedCas: [], clockSkewMs: 0, now: () => NOW_MS });
    refused(none.verify(peerCertificate(makeCertificate({ commonName: 'ca-dev', issuer: root })), 'ca-dev'), /no client CA is configured/);
  });

  it('reads a PEM bundle of CAs', (t) => {
    const { root, intermediate } = setup(t);
    assert.equal(X509Verifier.parseBundle(`junk\n${root.pem}${intermediate.pem}`).length, 2);
  });
});
