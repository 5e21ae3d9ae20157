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

/**
 * The IoT Hub identity a client claims, as its transport read it from the wire (MQTT: the user
 * name, checked against the client id; AMQP: the CBS token's audience or the link's address), or
 * why the transport could not read one. The proof (token, certificate) is checked separately.
 */
export type IdentityClaim =
  | {
      readonly ok: true;
      readonly deviceId: string;
      readonly moduleId?: string;
      /** The IoT Plug and Play model id the client named (MQTT user name `model-id=`), if any. */
      readonly modelId?: string;
    }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/**
 * What a client presents to connect, whatever the protocol: who it claims to be and its proof (a
 * SAS token or a TLS client certificate). A transport reads its own wire format into this (the
 * MQTT transport parses its user name; an AMQP CBS put-token gives the audience and the token);
 * the authenticator knows no protocol's syntax.
 */
export interface ConnectCredentials {
  readonly protocol: 'mqtt' | 'amqp' | 'https';
  readonly listener: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  /** The transport's id for the client (MQTT client id, AMQP container id): the failure limiter's key. */
  readonly clientId: string;
  /** True when the client presented nothing at all (no user name, no token): the anonymous mode's case. */
  readonly anonymous: boolean;
  /** A SAS token's bytes as sent (MQTT password, AMQP CBS put-token, HTTPS Authorization), if any. */
  readonly sasToken: Buffer | undefined;
  /**
   * The TLS client certificate, if the client sent one. Pass `getPeerCertificate(true)` so the
   * intermediates the client sent (`issuerCertificate`) are available for X.509 CA chains; Node
   * returns `{}` when there is no certificate, which counts as none.
   */
  readonly peerCertificate: PeerCertificate | undefined;
  /**
   * The claim as sent, verbatim (MQTT: the user name), when the transport has one: a reconnect
   * with the same client id, login key and token is recognised from one lookup (LoginCache)
   * without reading the claim again. Undefined: every login is checked in full.
   */
  readonly loginKey: string | undefined;
  /** The identity claimed; called at most once per authentication, and not at all for a login known again. */
  claimIdentity(): IdentityClaim;
}

export type AuthResult =
  | {
      readonly ok: true;
      readonly identity: ClientIdentity;
      /** The IoT Plug and Play model id of the claim (IdentityClaim.modelId), when the client named one. */
      readonly modelId?: string;
      /** On-behalf-of (nested edge): the edge device whose key signed the token, acting for `identity`. */
      readonly actor?: string;
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
