/**
 * Shared pieces for the auth tests: a registry in a temporary directory, SAS tokens signed the
 * way IoT Hub defines them (notes 5.2; the Azure SDK tests check this against the SDK's own
 * signer), certificates made with src/tls's issueCertificate, and a PeerCertificate as Node's
 * `getPeerCertificate(true)` returns it.
 */
import { createHmac, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DetailedPeerCertificate } from 'node:tls';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { issueCertificate, type ExtendedKeyUsage } from '../../src/tls/index.js';

export const HUB = 'myhub.azure-devices.net';
export const GATEWAY = 'gateway.local';
export const EDGE = 'edge1';
export const NOW_MS = Date.UTC(2030, 0, 1);
export const NOW_SEC = NOW_MS / 1000;
export const HOUR_SEC = 3600;

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'outpost-auth-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function openRegistry(t: { after: (fn: () => void) => void }): { registry: IdentityRegistry; dataDir: string } {
  const dataDir = tempDir(t);
  return { registry: IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE }), dataDir };
}

/** The IoT Hub resource URI as the Node SDK encodes it (once, encodeURIComponent). */
export function resourceUri(host: string, deviceId: string, moduleId?: string): string {
  return encodeURIComponent(`${host}/devices/${deviceId}${moduleId === undefined ? '' : `/modules/${moduleId}`}`);
}

export interface TokenOptions {
  readonly key: string;
  readonly deviceId: string;
  readonly moduleId?: string;
  readonly host?: string;
  readonly expirySec?: number | string;
  /** Use this sr as is. */
  readonly sr?: string;
  readonly skn?: string;
}

/** `SharedAccessSignature sr=…&sig=…&se=…`: HMAC-SHA256 over sr + "\n" + se with the decoded key. */
export function sasToken(options: TokenOptions): string {
  const sr = options.sr ?? resourceUri(options.host ?? HUB, options.deviceId, options.moduleId);
  const se = String(options.expirySec ?? NOW_SEC + HOUR_SEC);
  const sig = createHmac('sha256', Buffer.from(options.key, 'base64')).update(`${sr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}${options.skn === undefined ? '' : `&skn=${options.skn}`}`;
}

export interface TestCertificate {
  readonly pem: string;
  readonly key: KeyObject;
  readonly keyPem: string;
  readonly x509: X509Certificate;
}

const DAY_MS = 24 * 3600 * 1000;

export function makeCertificate(options: {
  commonName: string;
  issuer?: TestCertificate;
  isCa?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  extKeyUsage?: readonly ExtendedKeyUsage[];
}): TestCertificate {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = issueCertificate({
    subject: { commonName: options.commonName },
    publicKey: privateKey,
    signingKey: options.issuer?.key ?? privateKey,
    issuer: options.issuer?.pem ?? 'self',
    notBefore: options.notBefore ?? new Date(NOW_MS - DAY_MS),
    notAfter: options.notAfter ?? new Date(NOW_MS + 365 * DAY_MS),
    ...(options.isCa === true ? { isCa: true } : {}),
    ...(options.extKeyUsage === undefined ? {} : { extKeyUsage: options.extKeyUsage }),
  });
  return { pem, key: privateKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), x509: new X509Certificate(pem) };
}

/** What `tlsSocket.getPeerCertificate(true)` gives for a leaf and the chain the client sent. */
export function peerCertificate(leaf: TestCertificate, chain: readonly TestCertificate[] = []): DetailedPeerCertificate {
  const nodes = [leaf, ...chain].map((certificate) => ({ raw: certificate.x509.raw, subject: {}, issuer: {} }) as unknown as DetailedPeerCertificate);
  nodes.forEach((node, i) => {
    // The last one points at itself, as Node does for a self-signed root.
    (node as { issuerCertificate: DetailedPeerCertificate }).issuerCertificate = nodes[i + 1] ?? node;
  });
  return nodes[0]!;
}
