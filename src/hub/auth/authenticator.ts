import type { PeerCertificate } from 'node:tls';
import type { ErrorCode } from '../../errors/index.js';

/** How an IoT Hub identity proved who it is. */
export type AuthMethod = 'sas' | 'x509-thumbprint' | 'x509-ca';

/**
 * Who a connected client is. IoT Hub identities (devices and modules) use only their own IoT Hub
 * topics; anonymous and user identities use the general broker under the authorization policy.
 * `authMethod` is set by the identity registry's authenticator; it is optional so other sources
 * (tests, the anonymous mode) need not invent one.
 */
export type ClientIdentity =
  | { readonly kind: 'device'; readonly deviceId: string; readonly authMethod?: AuthMethod }
  | { readonly kind: 'module'; readonly deviceId: string; readonly moduleId: string; readonly authMethod?: AuthMethod }
  | { readonly kind: 'anonymous' };

export interface ConnectCredentials {
  readonly protocol: 'mqtt' | 'amqp' | 'https';
  readonly listener: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  /**
   * The TLS client certificate, if the client sent one. Pass `getPeerCertificate(true)` so the
   * intermediates the client sent (`issuerCertificate`) are available for X.509 CA chains; Node
   * returns `{}` when there is no certificate, which counts as none.
   */
  readonly peerCertificate: PeerCertificate | undefined;
}

export type AuthResult =
  | {
      readonly ok: true;
      readonly identity: ClientIdentity;
      /**
       * The IoT Plug and Play model id (`model-id=` of an MQTT user name), when the client named
       * one: the authenticator parses the user name anyway, so the transport need not again.
       */
      readonly modelId?: string;
    }
  | {
      readonly ok: false;
      /** `busy`: not checked at all, because this identity keeps failing from this address (AuthFailureLimiter). */
      readonly reason: 'bad-credentials' | 'not-authorized' | 'busy';
      /** Short text safe to send to the client: never a key, token, signature or certificate. */
      readonly detail: string;
      /** A registered code for the log line and metrics, when the authenticator knows one. */
      readonly code?: ErrorCode;
      /**
       * More precise text for the log only (for example "no such device" where the client is told
       * only that its credentials did not verify, so ids cannot be probed). Never secrets either.
       */
      readonly logDetail?: string;
    };

/**
 * The one authentication interface every transport calls. The identity registry (SAS tokens,
 * X.509) implements it; so does the anonymous mode for local development.
 */
export interface Authenticator {
  authenticate(credentials: ConnectCredentials): Promise<AuthResult> | AuthResult;
}
