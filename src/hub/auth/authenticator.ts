import type { PeerCertificate } from 'node:tls';

/**
 * Who a connected client is. IoT Hub identities (devices and modules) use only their own IoT Hub
 * topics; anonymous and user identities use the general broker under the authorization policy.
 */
export type ClientIdentity =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'module'; readonly deviceId: string; readonly moduleId: string }
  | { readonly kind: 'anonymous' };

export interface ConnectCredentials {
  readonly protocol: 'mqtt' | 'amqp' | 'https';
  readonly listener: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly peerCertificate: PeerCertificate | undefined;
}

export type AuthResult =
  | { readonly ok: true; readonly identity: ClientIdentity }
  | { readonly ok: false; readonly reason: 'bad-credentials' | 'not-authorized'; readonly detail: string };

/**
 * The one authentication interface every transport calls. The identity registry (SAS tokens,
 * X.509) implements it; so does the anonymous mode for local development.
 */
export interface Authenticator {
  authenticate(credentials: ConnectCredentials): Promise<AuthResult> | AuthResult;
}
