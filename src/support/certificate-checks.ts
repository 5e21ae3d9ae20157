import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutpostConfig } from '../config/index.js';
import { splitPemCertificates } from '../tls/index.js';
import { result, type CheckResult, type CheckStatus } from './check-result.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A certificate expiring within this is a warning (iotedge check warns at 7 days for identity certificates; a gateway's server chain needs longer to replace). */
export const CERT_EXPIRY_WARN_DAYS = 30;

interface CertificateFile {
  readonly role: string;
  readonly file: string;
  /** The key file that must match the first certificate. */
  readonly keyFile?: string;
}

/**
 * Certificates present, valid now, matching their key, and not expiring within 30 days: the
 * operator's files (tls.*) or the development CA and server certificate in <dataDir>/certs.
 */
export function certificateChecks(config: OutpostConfig, nowMs: number): CheckResult[] {
  const id = 'certificates';
  const title = 'TLS certificates present and not expiring';
  const files: CertificateFile[] = [];
  const operator = config.tls.certFile !== null;
  if (operator) {
    files.push({ role: 'server certificate (tls.certFile)', file: config.tls.certFile!, ...(config.tls.keyFile === null ? {} : { keyFile: config.tls.keyFile }) });
  } else {
    const certs = join(config.dataDir, 'certs');
    if (!existsSync(join(certs, 'server.pem'))) {
      return [result(id, title, 'skip', `no certificates yet: the first start generates a development CA and server certificate in ${certs}`)];
    }
    files.push({ role: 'development server certificate', file: join(certs, 'server.pem'), keyFile: join(certs, 'server.key.pem') });
    files.push({ role: 'development CA', file: join(certs, 'dev-ca.pem') });
  }
  if (config.tls.caFile !== null) files.push({ role: 'trust bundle (tls.caFile)', file: config.tls.caFile });
  if (config.tls.clientCaFile !== null) files.push({ role: 'client CA bundle (tls.clientCaFile)', file: config.tls.clientCaFile });

  const details: string[] = [];
  let worst = 'pass' as CheckStatus;
  const note = (status: CheckStatus, line: string) => {
    details.push(`${status}: ${line}`);
    if (status === 'fail' || (status === 'warn' && worst === 'pass')) worst = status;
  };
  let soonest: { role: string; days: number } | undefined;
  for (const entry of files) {
    let text: string;
    try {
      text = readFileSync(entry.file, 'utf8');
    } catch (error) {
      note('fail', `${entry.role} ${entry.file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      continue;
    }
    const pems = splitPemCertificates(text);
    if (pems.length === 0) {
      note('fail', `${entry.role} ${entry.file}: no PEM certificate in it`);
      continue;
    }
    for (const [index, pem] of pems.entries()) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch {
        note('fail', `${entry.role} ${entry.file} (certificate ${index + 1}): not a valid certificate`);
        continue;
      }
      const name = `${entry.role} ${entry.file}${pems.length > 1 ? ` (certificate ${index + 1}, ${cert.subject.replace(/\n/g, ', ')})` : ''}`;
      const notAfterMs = Date.parse(cert.validTo);
      const notBeforeMs = Date.parse(cert.validFrom);
      const days = Math.floor((notAfterMs - nowMs) / DAY_MS);
      if (notAfterMs <= nowMs) note('fail', `${name}: expired on ${new Date(notAfterMs).toISOString()}`);
      else if (notBeforeMs > nowMs) note('fail', `${name}: not valid before ${new Date(notBeforeMs).toISOString()} (or this machine's clock is behind)`);
      else if (days < CERT_EXPIRY_WARN_DAYS) note('warn', `${name}: expires in ${days} day(s), on ${new Date(notAfterMs).toISOString()}`);
      else note('pass', `${name}: valid until ${new Date(notAfterMs).toISOString()} (${days} days)`);
      if (notAfterMs > nowMs && (soonest === undefined || days < soonest.days)) soonest = { role: entry.role, days };
    }
    if (entry.keyFile !== undefined) {
      try {
        const key = createPrivateKey(readFileSync(entry.keyFile));
        if (!new X509Certificate(pems[0]!).checkPrivateKey(key)) note('fail', `${entry.role}: the key ${entry.keyFile} does not belong to the certificate`);
      } catch (error) {
        note('fail', `${entry.role}: cannot read the key ${entry.keyFile} (${(error as NodeJS.ErrnoException).code ?? 'not a private key'})`);
      }
    }
  }
  const failed = details.filter((line) => line.startsWith('fail')).length;
  const warned = details.filter((line) => line.startsWith('warn')).length;
  const message =
    worst === 'fail'
      ? `${failed} certificate problem(s)`
      : worst === 'warn'
        ? `${warned} certificate(s) expire within ${CERT_EXPIRY_WARN_DAYS} days`
        : `${files.length} file(s) valid${soonest === undefined ? '' : `; the first to expire (${soonest.role}) in ${soonest.days} days`}`;
  const hint =
    worst === 'pass'
      ? undefined
      : operator
        ? 'replace the files named (tls.certFile with its chain, tls.keyFile its key; clients must trust the new chain) and restart the hub'
        : 'restart the hub: it reissues the development server certificate when it nears expiry; an expired development CA is replaced by removing <dataDir>/certs (clients and modules must then trust the new dev-ca.pem)';
  return [result(id, title, worst, message, hint, details)];
}
