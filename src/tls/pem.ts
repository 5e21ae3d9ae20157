/** PEM (RFC 7468) framing for DER certificates and chains. */

const LINE_CHARS = 64;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** DER bytes as a PEM block with the given label ("CERTIFICATE"), ending in a newline. */
export function derToPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += LINE_CHARS) lines.push(base64.slice(i, i + LINE_CHARS));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * The CERTIFICATE blocks of a PEM file in order, each ending in a newline. Text between blocks
 * (the "Bag Attributes" lines openssl pkcs12 writes, comments) is dropped, as OpenSSL does.
 */
export function splitPemCertificates(text: string): string[] {
  return Array.from(text.matchAll(CERTIFICATE_BLOCK), (match) => `${match[0]}\n`);
}
