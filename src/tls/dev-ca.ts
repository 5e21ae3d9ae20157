/**
 * Development TLS: with no operator certificate configured, the hub still serves TLS, using a
 * CA and server certificate it makes itself in <dataDir>/certs/. The CA is kept across restarts
 * for as long as it is valid, because every client that trusts it would otherwise have to be
 * reconfigured; the server certificate is cheap and is reissued whenever it no longer fits.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { writeFileAtomic } from '../fs/index.js';
import { readCertificateFields } from './certificate-fields.js';
import { splitPemCertificates } from './pem.js';
import { serverNames, type ServerNames } from './server-names.js';
import { issueCertificate } from './x509-builder.js';

export interface DevCertificatesOptions {
  readonly dataDir: string;
  /** Extra names the server certificate must cover (host name, gateway host name); IPs allowed. */
  readonly hostnames: readonly string[];
  readonly logger: Logger;
  /** The current time; tests move it to exercise expiry. */
  readonly now?: Date;
}

export interface DevCertificates {
  /** The file clients and modules must trust. */
  readonly caFile: string;
  /** Server certificate followed by the CA certificate. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly created: { readonly ca: boolean; readonly server: boolean };
}

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_MS = 5 * 365 * DAY_MS;
const SERVER_VALIDITY_MS = 365 * DAY_MS;
// Renew this long before expiry so a running hub never serves an expired certificate between restarts.
const RENEW_BEFORE_MS = 30 * DAY_MS;
// Backdate notBefore: devices whose clock lags a little must still accept a fresh certificate.
const CLOCK_SKEW_MS = 60 * 60 * 1000;
// RFC 5280 4.1.2.4 (ub-common-name): a common name holds at most 64 characters.
const MAX_COMMON_NAME_CHARS = 64;
const PRIVATE_FILE_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;
const EC_CURVE = 'prime256v1';

interface Ca {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  readonly certPem: string;
  readonly keyPem: string;
}

/** The reason a stored certificate cannot be reused, or the loaded value. */
type Loaded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly missing: boolean };

/** Creates or reuses the development CA and server certificate; see the module comment. */
export function ensureDevCertificates(options: DevCertificatesOptions): DevCertificates {
  const now = options.now ?? new Date();
  const certsDir = join(options.dataDir, 'certs');
  const files = {
    caFile: join(certsDir, 'dev-ca.pem'),
    caKeyFile: join(certsDir, 'dev-ca.key.pem'),
    certFile: join(certsDir, 'server.pem'),
    keyFile: join(certsDir, 'server.key.pem'),
  };
  const names = serverNames(options.hostnames);
  if (names.skipped.length > 0) {
    options.logger.warn({ event: 'tls.dev_hostname_skipped', hostnames: names.skipped }, 'host names left out of the development server certificate');
  }
  try {
    mkdirSync(certsDir, { recursive: true });
    let ca: Ca;
    const loadedCa = loadCa(files.caFile, files.caKeyFile, now);
    if (loadedCa.ok) {
      ca = loadedCa.value;
    } else {
      ca = createCa(now);
      writeFileAtomic(files.caKeyFile, ca.keyPem, PRIVATE_FILE_MODE);
      writeFileAtomic(files.caFile, ca.certPem, PUBLIC_FILE_MODE);
      if (loadedCa.missing) {
        options.logger.info({ event: 'tls.dev_ca_created', caFile: files.caFile, notAfter: readCertificateFields(ca.cert).notAfter }, 'development CA created');
      } else {
        options.logger.warn(
          { event: 'tls.dev_ca_regenerated', caFile: files.caFile, reason: loadedCa.reason, notAfter: readCertificateFields(ca.cert).notAfter },
          'development CA was regenerated; clients must trust the new CA file',
        );
      }
    }
    const loadedServer = loadedCa.ok
      ? loadServer(files.certFile, files.keyFile, ca, names, now)
      : ({ ok: false, reason: 'new CA', missing: false } as const);
    let server: { certPem: string; keyPem: string };
    if (loadedServer.ok) {
      server = loadedServer.value;
    } else {
      server = issueServer(ca, names, now);
      writeFileAtomic(files.keyFile, server.keyPem, PRIVATE_FILE_MODE);
      writeFileAtomic(files.certFile, server.certPem, PUBLIC_FILE_MODE);
      options.logger.info(
        {
          event: 'tls.dev_server_cert_issued',
          certFile: files.certFile,
          reason: loadedServer.reason,
          dnsNames: names.dns,
          ipAddresses: names.ip,
          notAfter: readCertificateFields(new X509Certificate(server.certPem)).notAfter,
        },
        'development server certificate issued',
      );
    }
    const created = { ca: !loadedCa.ok, server: !loadedServer.ok };
    options.logger.info(
      { event: 'tls.dev_ca', caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile, created },
      'serving TLS with development certificates; clients must trust the CA in caFile',
    );
    return {
      caFile: files.caFile,
      certFile: files.certFile,
      keyFile: files.keyFile,
      caPem: ca.certPem,
      certPem: server.certPem,
      keyPem: server.keyPem,
      created,
    };
  } catch (error) {
    if (error instanceof OutpostError && error.code === 'OUTPOST_TLS_DEV_CA_FAILED') throw error;
    throw new OutpostError('OUTPOST_TLS_DEV_CA_FAILED', `cannot create development certificates in ${certsDir}: ${(error as Error).message}`, {
      details: { certsDir },
      cause: error,
    });
  }
}

/** File text, or null when the file does not exist. Other read errors stop startup. */
function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Not ENOENT (permissions, say): regenerating would overwrite a CA that clients trust.
    throw new OutpostError('OUTPOST_TLS_DEV_CA_FAILED', `cannot read ${file}: ${(error as Error).message}`, {
      details: { file },
      cause: error,
    });
  }
}

function parseKey(pem: string): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch {
    return null;
  }
}

function parseCert(pem: string | undefined): X509Certificate | null {
  if (pem === undefined) return null;
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

function validityProblem(cert: X509Certificate, now: Date): string | null {
  const { notBefore, notAfter } = readCertificateFields(cert);
  if (notBefore.getTime() > now.getTime()) return 'not yet valid';
  const notAfterMs = notAfter.getTime();
  if (notAfterMs <= now.getTime()) return 'expired';
  if (notAfterMs - now.getTime() <= RENEW_BEFORE_MS) return 'expires within 30 days';
  return null;
}

function loadCa(certFile: string, keyFile: string, now: Date): Loaded<Ca> {
  const certPem = readOptional(certFile);
  const keyPem = readOptional(keyFile);
  if (certPem === null && keyPem === null) return { ok: false, reason: 'missing', missing: true };
  if (certPem === null || keyPem === null) return { ok: false, reason: `${certPem === null ? 'certificate' : 'key'} file missing`, missing: false };
  const cert = parseCert(splitPemCertificates(certPem)[0]);
  if (cert === null) return { ok: false, reason: 'certificate unparsable', missing: false };
  const key = parseKey(keyPem);
  if (key === null) return { ok: false, reason: 'key unparsable', missing: false };
  if (!cert.ca) return { ok: false, reason: 'not a CA certificate', missing: false };
  if (!cert.checkPrivateKey(key)) return { ok: false, reason: 'key does not match certificate', missing: false };
  // A CA that expires soon is replaced early: server certificates cannot outlive it.
  const problem = validityProblem(cert, now);
  if (problem !== null) return { ok: false, reason: problem, missing: false };
  return { ok: true, value: { cert, key, certPem, keyPem } };
}

function loadServer(certFile: string, keyFile: string, ca: Ca, names: ServerNames, now: Date): Loaded<{ certPem: string; keyPem: string }> {
  const certPem = readOptional(certFile);
  const keyPem = readOptional(keyFile);
  if (certPem === null || keyPem === null) return { ok: false, reason: 'missing', missing: true };
  const chain = splitPemCertificates(certPem);
  const leaf = parseCert(chain[0]);
  if (leaf === null) return { ok: false, reason: 'certificate unparsable', missing: false };
  const key = parseKey(keyPem);
  if (key === null) return { ok: false, reason: 'key unparsable', missing: false };
  if (!leaf.checkPrivateKey(key)) return { ok: false, reason: 'key does not match certificate', missing: false };
  if (!leaf.checkIssued(ca.cert) || !leaf.verify(ca.cert.publicKey)) return { ok: false, reason: 'not issued by the development CA', missing: false };
  // Clients only hold the CA, so the file must carry it after the leaf for a complete chain.
  if (parseCert(chain[1])?.fingerprint256 !== ca.cert.fingerprint256) return { ok: false, reason: 'chain lacks the CA certificate', missing: false };
  const problem = validityProblem(leaf, now);
  if (problem !== null) return { ok: false, reason: problem, missing: false };
  const uncovered = [
    ...names.dns.filter((name) => leaf.checkHost(name, { subject: 'never' }) === undefined),
    ...names.ip.filter((ip) => leaf.checkIP(ip) === undefined),
  ];
  if (uncovered.length > 0) return { ok: false, reason: `does not cover ${uncovered.join(', ')}`, missing: false };
  return { ok: true, value: { certPem, keyPem } };
}

function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: EC_CURVE });
}

function createCa(now: Date): Ca {
  const { publicKey, privateKey } = newKeyPair();
  // A distinct name per CA lets operators tell an old, replaced CA from the current one in a trust store.
  const certPem = issueCertificate({
    subject: { commonName: `Outpost development CA ${randomBytes(4).toString('hex')}`, organization: 'Outpost development' },
    publicKey,
    signingKey: privateKey,
    issuer: 'self',
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    isCa: true,
    // It only ever signs server certificates directly.
    pathLenConstraint: 0,
  });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { cert: new X509Certificate(certPem), key: privateKey, certPem, keyPem };
}

function issueServer(ca: Ca, names: ServerNames, now: Date): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = newKeyPair();
  const commonName = names.dns.find((name) => name !== 'localhost' && name.length <= MAX_COMMON_NAME_CHARS) ?? 'localhost';
  // Never outlive the CA: a chain is only as valid as its shortest-lived certificate.
  const notAfterMs = Math.min(now.getTime() + SERVER_VALIDITY_MS, readCertificateFields(ca.cert).notAfter.getTime());
  const leafPem = issueCertificate({
    subject: { commonName, organization: 'Outpost development' },
    publicKey,
    signingKey: ca.key,
    issuer: ca.cert,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(notAfterMs),
    extKeyUsage: ['serverAuth'],
    subjectAltNames: { dns: names.dns, ip: names.ip },
  });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem: leafPem + ca.certPem, keyPem };
}
