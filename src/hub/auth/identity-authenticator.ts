/**
 * The Authenticator for devices and modules of the local identity registry, so clients keep
 * connecting with no upstream link. It takes protocol-neutral credentials: the identity the client
 * claims (its transport read it: the MQTT user name, an AMQP CBS token's audience) and the proof,
 * a SAS token or, with none, the TLS client certificate. Transports may also call
 * `verifySasToken` / `verifyCertificate` directly (the HTTPS Authorization header).
 *
 * Failures name their reason without secrets. Repeated failures of one identity from one address
 * are answered late, and an address guessing in parallel is refused as busy (AuthFailureLimiter);
 * credentials that verify are answered at once, from any address.
 */
import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { OutpostError } from '../../errors/index.js';
import type { AuthResult, Authenticator, ConnectCredentials } from './authenticator.js';
import { authFailure } from './auth-failure.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { IdentityRegistry } from './identity-registry.js';
import { LoginCache } from './login-cache.js';
import { SasVerifier } from './sas-verifier.js';
import { X509Verifier } from './x509-verifier.js';

export interface IdentityAuthenticatorOptions {
  readonly registry: IdentityRegistry;
  readonly iotHubHostname: string;
  readonly gatewayHostname: string;
  /** CAs for `certificateAuthority` identities; none means only thumbprint certificates work. */
  readonly clientCas?: readonly X509Certificate[];
  /** Default 5 minutes (auth.sasClockSkew). Also applies to certificate validity. */
  readonly clockSkewMs?: number;
  /** Default 20,000 (auth.tokenCacheSize); 0 disables the cache. */
  readonly tokenCacheSize?: number;
  readonly limiter?: AuthFailureLimiter;
  /** Clock and timer, replaceable in tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The settings fromConfig reads: a structural part of OutpostConfig, declared here so auth does
 * not import the configuration (whose checks import auth's policy reader: no import circle).
 */
export interface IdentityAuthSettings {
  readonly iotHubHostname: string;
  readonly gatewayHostname: string;
  readonly tls: { readonly clientCaFile: string | null };
  readonly auth: { readonly sasClockSkew: number; readonly tokenCacheSize: number };
}

const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

/** An attempt the limiter did not let be checked (the same object each time: nothing per refusal). */
const TOO_MANY_FAILURES: AuthResult = Object.freeze({
  ok: false,
  reason: 'busy',
  code: 'OUTPOST_AUTH_TOO_MANY_FAILURES',
  detail: 'too many failed logins for this identity from this address; retry later',
} as const);
const DEFAULT_TOKEN_CACHE_SIZE = 20_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class IdentityAuthenticator implements Authenticator {
  readonly sas: SasVerifier;
  readonly x509: X509Verifier;
  readonly limiter: AuthFailureLimiter;
  readonly logins: LoginCache;
  private readonly registry: IdentityRegistry;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private lookupUnknown: ((deviceId: string, moduleId: string | undefined) => Promise<void>) | undefined;

  constructor(options: IdentityAuthenticatorOptions) {
    const now = options.now ?? Date.now;
    const clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
    this.sas = new SasVerifier({
      registry: options.registry,
      hostnames: [options.iotHubHostname, options.gatewayHostname],
      clockSkewMs,
      cacheSize: options.tokenCacheSize ?? DEFAULT_TOKEN_CACHE_SIZE,
      now,
    });
    this.x509 = new X509Verifier({ registry: options.registry, trustedCas: options.clientCas ?? [], clockSkewMs, now });
    this.limiter = options.limiter ?? new AuthFailureLimiter({ now });
    this.logins = new LoginCache(options.tokenCacheSize ?? DEFAULT_TOKEN_CACHE_SIZE);
    this.registry = options.registry;
    this.now = now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /**
   * From the configuration: host names, auth.sasClockSkew, auth.tokenCacheSize and the CAs of
   * tls.clientCaFile. Throws OUTPOST_TLS_CERT_UNREADABLE when that file cannot be used.
   */
  static fromConfig(config: IdentityAuthSettings, registry: IdentityRegistry): IdentityAuthenticator {
    return new IdentityAuthenticator({
      registry,
      iotHubHostname: config.iotHubHostname,
      gatewayHostname: config.gatewayHostname,
      clientCas: config.tls.clientCaFile === null ? [] : readClientCas(config.tls.clientCaFile),
      clockSkewMs: config.auth.sasClockSkew,
      tokenCacheSize: config.auth.tokenCacheSize,
    });
  }

  /**
   * Synchronous (no promise, no tick) unless a failure is being held: the MQTT adapter takes a
   * plain result on its fast path, which matters in a reconnect storm. A good login costs the
   * limiter one size check while no address is held, one map lookup while one is.
   */
  authenticate(credentials: ConnectCredentials): Promise<AuthResult> | AuthResult {
    const limiter = this.limiter;
    const address = credentials.remoteAddress;
    if (!limiter.admits(address, credentials.clientId)) {
      // Not checked at all, so the answer says nothing about the guess; a login that verified
      // before (the login cache: a module reconnecting with its token) still gets in.
      return this.knownLogin(credentials) ?? TOO_MANY_FAILURES;
    }
    const result = this.verify(credentials);
    if (result.ok) return result;
    const unknown = this.lookupUnknown === undefined ? undefined : this.unknownHere(credentials);
    if (this.lookupUnknown !== undefined && unknown !== undefined) {
      // Not known here (yet): the parent's device scope may have it; asked, then checked once more.
      return this.lookupUnknown(unknown.deviceId, unknown.moduleId).then(() => {
        const again = this.verify(credentials);
        return again.ok ? again : this.failed(credentials, again);
      });
    }
    return this.failed(credentials, result);
  }

  /**
   * Where identities unknown here are looked up before a login is refused: the device scope
   * fetched from the parent (DeviceScopeSync.refreshForUnknown), when this gateway has one. It
   * resolves once the registry has what the parent answered (or after a bounded wait).
   */
  lookUpUnknownIdentitiesWith(lookup: (deviceId: string, moduleId: string | undefined) => Promise<void>): void {
    this.lookupUnknown = lookup;
  }

  /** The claimed identity when it (or, for a module, its device) is not in the registry. */
  private unknownHere(credentials: ConnectCredentials): { deviceId: string; moduleId: string | undefined } | undefined {
    const claim = credentials.claimIdentity();
    if (!claim.ok) return undefined;
    const unknown = this.registry.get(claim.deviceId) === undefined || (claim.moduleId !== undefined && this.registry.get(claim.deviceId, claim.moduleId) === undefined);
    return unknown ? { deviceId: claim.deviceId, moduleId: claim.moduleId } : undefined;
  }

  /** A refused login: counted by the limiter, and held for its delay when the limiter says so. */
  private failed(credentials: ConnectCredentials, result: AuthResult): Promise<AuthResult> | AuthResult {
    const limiter = this.limiter;
    const address = credentials.remoteAddress;
    const delayMs = limiter.recordFailure(address, credentials.clientId);
    if (delayMs === 0) return result;
    // The slot stays held for the whole delay, whether or not the client is still there.
    return this.sleep(delayMs).then(() => {
      limiter.release(address);
      return result;
    });
  }

  /** A SAS token for a device (or a module): AMQP CBS put-token, the HTTPS Authorization header. */
  verifySasToken(token: string, deviceId: string, moduleId?: string): AuthResult {
    return this.sas.verify(token, deviceId, moduleId);
  }

  /** A TLS client certificate for a device (or a module). */
  verifyCertificate(peer: PeerCertificate, deviceId: string, moduleId?: string): AuthResult {
    return this.x509.verify(peer, deviceId, moduleId);
  }

  /** A reconnect with the very login that worked before (client id, login key, token), known again without reading the claim. */
  private knownLogin(credentials: ConnectCredentials): AuthResult | undefined {
    const { clientId, loginKey, sasToken } = credentials;
    if (loginKey === undefined || sasToken === undefined || sasToken.length === 0) return undefined;
    return this.logins.get(clientId, loginKey, sasToken, this.registry.changes, this.now());
  }

  private verify(credentials: ConnectCredentials): AuthResult {
    const { clientId, loginKey, sasToken } = credentials;
    const cacheable = loginKey !== undefined && sasToken !== undefined && sasToken.length > 0;
    const changes = this.registry.changes;
    if (cacheable) {
      const known = this.logins.get(clientId, loginKey, sasToken, changes, this.now());
      if (known !== undefined) return known;
    }
    const claim = credentials.claimIdentity();
    if (!claim.ok) return authFailure(claim.code, claim.reason);
    const { deviceId, moduleId, modelId } = claim;
    if (sasToken !== undefined && sasToken.length > 0) {
      // A cacheable login is remembered whole by the login cache; the token cache is for the rest (CBS, HTTPS).
      const checked = this.sas.check(sasToken.toString('utf8'), deviceId, moduleId, !(cacheable && this.logins.maxEntries > 0));
      const result = withModelId(checked.result, modelId);
      if (cacheable && result.ok && checked.expiresAtMs !== undefined) this.logins.set(clientId, loginKey, sasToken, result, changes, checked.expiresAtMs);
      return result;
    }
    const peer = credentials.peerCertificate;
    if (peer !== undefined && peer !== null && peer.raw !== undefined) return withModelId(this.x509.verify(peer, deviceId, moduleId), modelId);
    return authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'no SAS token (password) and no client certificate');
  }
}

/** A success that carries the user name's model id (a new object: the verifiers may share theirs). */
function withModelId(result: AuthResult, modelId: string | undefined): AuthResult {
  return modelId === undefined || !result.ok ? result : { ...result, modelId };
}

function readClientCas(file: string): X509Certificate[] {
  let certificates: X509Certificate[];
  try {
    certificates = X509Verifier.parseBundle(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new OutpostError('OUTPOST_TLS_CERT_UNREADABLE', `tls.clientCaFile ${file}: ${(error as Error).message}`, { details: { file }, cause: error });
  }
  if (certificates.length === 0) throw new OutpostError('OUTPOST_TLS_CERT_UNREADABLE', `tls.clientCaFile ${file} holds no PEM certificate`, { details: { file } });
  return certificates;
}
