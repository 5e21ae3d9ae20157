/**
 * The names a development server certificate must cover: the loopback names every local client
 * uses, plus the host names the caller passes (machine host name, configured gateway host name),
 * split into DNS names and IP addresses because X.509 keeps them in different SAN types.
 */
import { domainToASCII } from 'node:url';
import { ipAddressBytes } from './ip-address-bytes.js';

export interface ServerNames {
  readonly dns: readonly string[];
  readonly ip: readonly string[];
  /** Names that could not go into a certificate (empty after trimming, invalid characters). */
  readonly skipped: readonly string[];
}

export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

// LDH labels (RFC 1123), plus '_' which some machine host names carry and clients compare bytewise.
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Loopback names first, then the given ones; duplicates (case, IP spelling) removed. */
export function serverNames(hostnames: readonly string[]): ServerNames {
  const dns: string[] = [];
  const ip: string[] = [];
  const skipped: string[] = [];
  const seenIps = new Set<string>();
  for (const raw of [...LOOPBACK_NAMES, ...hostnames]) {
    // Accept the forms operators write: "[::1]" from URLs, "host." fully qualified.
    const trimmed = raw.trim().replace(/^\[(.*)\]$/, '$1');
    const bytes = ipAddressBytes(trimmed);
    if (bytes !== null) {
      const key = bytes.toString('hex');
      if (!seenIps.has(key)) ip.push(trimmed);
      seenIps.add(key);
      continue;
    }
    const name = domainToASCII(trimmed.replace(/\.$/, '').toLowerCase());
    if (!DNS_NAME.test(name)) skipped.push(raw);
    else if (!dns.includes(name)) dns.push(name);
  }
  return { dns, ip, skipped };
}
