/**
 * The one place the AMQP adapter calls the hub's authenticator (kept small so a change of its
 * credentials shape touches only this file). An identity proves itself with a SAS token (CBS
 * put-token, SASL PLAIN) or with the TLS client certificate (X.509: the SDK then sends no CBS
 * token). The result carries until when the proof is good: the token's `se` plus the allowed
 * clock skew, or never for a certificate (it is checked again at the next connection).
 */
import type { PeerCertificate } from 'node:tls';
import { parseSasToken, type Authenticator, type AuthResult } from '../../auth/index.js';
import type { ConnectionInfo } from '../protocol-adapter.js';
import { identityName } from './link-address.js';

export interface IdentityProof {
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  /** The SAS token; absent: the TLS client certificate is the proof. */
  readonly token: string | undefined;
  readonly peerCertificate: PeerCertificate | undefined;
}

export type IdentityCheck = { readonly result: AuthResult; readonly expiresAtMs: number };

export async function authenticateIdentity(authenticator: Authenticator, info: ConnectionInfo, proof: IdentityProof, clockSkewMs: number): Promise<IdentityCheck> {
  const result = await authenticator.authenticate({
    protocol: 'amqp',
    listener: info.listener,
    secure: info.secure,
    remoteAddress: info.remoteAddress,
    clientId: identityName(proof.deviceId, proof.moduleId),
    anonymous: proof.token === undefined && proof.peerCertificate === undefined,
    sasToken: proof.token === undefined ? undefined : Buffer.from(proof.token, 'utf8'),
    peerCertificate: proof.token === undefined ? proof.peerCertificate : undefined,
    // The put-token names its identity in the audience; no claim text to cache a login by.
    loginKey: undefined,
    claimIdentity: () => (proof.moduleId === undefined ? { ok: true, deviceId: proof.deviceId } : { ok: true, deviceId: proof.deviceId, moduleId: proof.moduleId }),
  });
  if (!result.ok || proof.token === undefined) return { result, expiresAtMs: Number.POSITIVE_INFINITY };
  const parsed = parseSasToken(proof.token);
  // The authenticator accepted it, so it parses; the guard keeps a future change honest.
  const expiresAtMs = parsed.ok ? parsed.token.expirySec * 1000 + clockSkewMs : Date.now();
  return { result, expiresAtMs };
}
