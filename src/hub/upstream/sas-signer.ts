import { createHmac } from 'node:crypto';

/**
 * A SAS token as the Azure SDKs sign one (`SharedAccessSignature.create`): the audience
 * percent-encoded as `sr`, HMAC-SHA256 with the base64-decoded key over `sr + "\n" + se`.
 */
export function signSasToken(audience: string, base64Key: string, expirySec: number): string {
  const resource = encodeURIComponent(audience);
  const signature = createHmac('sha256', Buffer.from(base64Key, 'base64')).update(`${resource}\n${expirySec}`, 'utf8').digest('base64');
  return `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}&se=${expirySec}`;
}
