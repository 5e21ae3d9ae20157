/**
 * The hub's TLS server credentials: the operator's certificate and key when configured, the
 * development CA otherwise. Every problem with the operator's files stops startup with an error
 * naming the file, because a hub that starts with a broken certificate fails every client later,
 * far from the cause.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OutpostError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { readCertificateFields } from './certificate-fields.js';
import { ensureDevCertificates } from './dev-ca.js';
import { splitPemCertificates } from './pem.js';

export interface ServerCredentialsOptions {
  /** PEM chain: server certificate first, then intermediates (optionally the root). */
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
  /** Trust bundle handed to clients and modules; default: the last certificate of the chain. */
  readonly caFile?: string | null;
  /** Where development certificates live when certFile and keyFile are both absent. */
  readonly dataDir: string;
  readonly hostnames: readonly string[];
  readonly logger: Logger;
  readonly now?: Date;
}

export interface ServerCredentials {
  readonly source: 'operator' | 'development';
  /** Server certificate chain, PEM. */
  readonly cert: string;
  /** Private key, PEM. */
  readonly key: string;
  /** CA certificates clients should trust, PEM. */
  readonly ca: string;
  /** The file holding `ca`, or null when it was taken from the chain. */
  readonly caFile: string | null;
  readonly certFile: string;
  readonly keyFile: string;
  readonly notAfter: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Warn this long ahead so operators can renew before clients start failing.
const EXPIRY_WARNING_MS = 30 * DAY_MS;

type FileRole = 'certificate' | 'key' | 'CA';

function unreadable(file: string, role: FileRole, problem: string, cause?: unknown): OutpostError {
  return new OutpostError('OUTPOST_TLS_CERT_UNREADABLE', `TLS ${role} file ${file} ${problem}`, {
    details: { file, role },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function loadServerCredentials(options: ServerCredentialsOptions): ServerCredentials {
  const certFile = options.certFile ?? null;
  const keyFile = options.keyFile ?? null;
  if (certFile === null && keyFile === null) return developmentCredentials(options);
  if (certFile === null || keyFile === null) {
    throw new OutpostError(
      'OUTPOST_TLS_CERT_UNREADABLE',
      `TLS needs both a certificate file and a key file; only the ${certFile === null ? `key file ${keyFile}` : `certificate file ${certFile}`} is set`,
      { details: { certFile, keyFile } },
    );
  }
  return operatorCredentials(options, certFile, keyFile);
}

function developmentCredentials(options: ServerCredentialsOptions): ServerCredentials {
  const dev = ensureDevCertificates({
    dataDir: options.dataDir,
    hostnames: options.hostnames,
    logger: options.logger,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  if (options.caFile !== undefined && options.caFile !== null) {
    // A bundle for some other CA cannot verify the development certificate, so handing it to
    // modules would only break them.
    options.logger.warn(
      { event: 'tls.ca_file_ignored', caFile: options.caFile, devCaFile: dev.caFile },
      'caFile is ignored without certFile and keyFile; clients must trust the development CA',
    );
  }
  const leaf = new X509Certificate(dev.certPem);
  return {
    source: 'development',
    cert: dev.certPem,
    key: dev.keyPem,
    ca: dev.caPem,
    caFile: dev.caFile,
    certFile: dev.certFile,
    keyFile: dev.keyFile,
    notAfter: readCertificateFields(leaf).notAfter,
  };
}

function operatorCredentials(options: ServerCredentialsOptions, certFile: string, keyFile: string): ServerCredentials {
  const now = options.now ?? new Date();
  const chainPems = readCertificates(certFile, 'certificate');
  const chain = chainPems.map((pem, index) => parseCertificate(pem, certFile, 'certificate', index));
  const leaf = chain[0];
  const lastPem = chainPems[chainPems.length - 1];
  if (leaf === undefined || lastPem === undefined) throw unreadable(certFile, 'certificate', 'contains no PEM certificate');
  const { keyPem, key } = readKey(keyFile);
  if (!leaf.checkPrivateKey(key)) {
    throw new OutpostError('OUTPOST_TLS_KEY_MISMATCH', `TLS key file ${keyFile} does not belong to the certificate in ${certFile}`, {
      details: { certFile, keyFile, subject: leaf.subject },
    });
  }
  const { notBefore, notAfter } = readCertificateFields(leaf);
  const dates = { notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString() };
  if (now.getTime() < notBefore.getTime()) {
    throw new OutpostError('OUTPOST_TLS_CERT_EXPIRED', `TLS certificate file ${certFile} is not valid before ${dates.notBefore}`, {
      details: { file: certFile, subject: leaf.subject, ...dates },
    });
  }
  if (now.getTime() > notAfter.getTime()) {
    throw new OutpostError('OUTPOST_TLS_CERT_EXPIRED', `TLS certificate file ${certFile} expired on ${dates.notAfter}`, {
      details: { file: certFile, subject: leaf.subject, ...dates },
    });
  }
  if (notAfter.getTime() - now.getTime() <= EXPIRY_WARNING_MS) {
    options.logger.warn({ event: 'tls.cert_expiring', certFile, notAfter }, 'TLS server certificate expires within 30 days');
  }
  chain.forEach((cert, index) => {
    const next = chain[index + 1];
    // Clients build the path from the order sent; a misordered file fails them in ways hard to trace.
    if (next !== undefined && cert.checkIssued(next) === false) {
      options.logger.warn({ event: 'tls.chain_order', certFile, position: index + 1 }, 'certificate in the chain is not issued by the one after it');
    }
  });
  const caFile = options.caFile ?? null;
  const ca = caFile === null ? lastPem : caBundle(caFile);
  options.logger.info(
    { event: 'tls.server_credentials', source: 'operator', certFile, keyFile, caFile, subject: leaf.subject, notAfter },
    'serving TLS with the configured certificate',
  );
  return { source: 'operator', cert: chainPems.join(''), key: keyPem, ca, caFile, certFile, keyFile, notAfter };
}

function readText(file: string, role: FileRole): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw unreadable(file, role, `cannot be read: ${(error as Error).message}`, error);
  }
}

function readCertificates(file: string, role: FileRole): string[] {
  const pems = splitPemCertificates(readText(file, role));
  if (pems.length === 0) throw unreadable(file, role, 'contains no PEM certificate');
  return pems;
}

function parseCertificate(pem: string, file: string, role: FileRole, index: number): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw unreadable(file, role, `certificate ${index + 1} cannot be parsed: ${(error as Error).message}`, error);
  }
}

function readKey(file: string): { keyPem: string; key: KeyObject } {
  const keyPem = readText(file, 'key');
  try {
    return { keyPem, key: createPrivateKey(keyPem) };
  } catch (error) {
    // Encrypted keys land here too (ERR_MISSING_PASSPHRASE): the hub has no passphrase to offer.
    throw unreadable(file, 'key', `cannot be parsed as an unencrypted private key: ${(error as Error).message}`, error);
  }
}

function caBundle(file: string): string {
  const pems = readCertificates(file, 'CA');
  pems.forEach((pem, index) => parseCertificate(pem, file, 'CA', index));
  return pems.join('');
}
