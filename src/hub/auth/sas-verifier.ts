/**
 * Verifies SAS tokens against the local identity registry, exactly as IoT Hub and EdgeHub do
 * (notes 5.2): HMAC-SHA256 of `sr_raw + "\n" + se_raw` with the base64-decoded key, the primary
 * key then the secondary, compared in constant time; expiry with a bounded clock skew; the
 * audience host is the IoT hub or this gateway (case-insensitive); the ids are the connecting
 * identity's (case-insensitive); a device-scope token is accepted for a module of that device.
 *
 * The connecting identity (from the MQTT username, the AMQP CBS audience or the HTTP header)
 * chooses the key; the token's ids only have to agree with it. So a token can never select a
 * key of an identity other than the one connecting.
 */
import crypto from 'node:crypto';
import type { AuthResult } from './authenticator.js';
import { authFailure, GENERIC_DETAIL } from './auth-failure.js';
import { identityKey } from './identity-record.js';
import type { IdentityRegistry, RegistryEntry } from './identity-registry.js';
import { parseSasToken, type SasToken } from './sas-token.js';
import { TokenCache, type CachedToken } from './token-cache.js';
import { onBehalfOfProblem } from './auth-chain.js';

export interface SasVerifierOptions {
  readonly registry: IdentityRegistry;
  /** Accepted audience hosts: the IoT hub host name and the gateway host name. */
  readonly hostnames: readonly string[];
  readonly clockSkewMs: number;
  /** 0 disables the cache. */
  readonly cacheSize: number;
  readonly now: () => number;
}

const HMAC_BYTES = 32;
const DECOY_KEY = crypto.randomBytes(HMAC_BYTES);
const DECOY = { keys: { primary: DECOY_KEY, secondary: DECOY_KEY } };
/** The edge hub module: a child edge may sign with its key (Azure's edge hub does) or its device's. */
const EDGE_HUB_MODULE = '$edgeHub';

export class SasVerifier {
  readonly cache: TokenCache;
  private readonly hostnames: ReadonlySet<string>;

  constructor(private readonly options: SasVerifierOptions) {
    this.cache = new TokenCache(options.cacheSize);
    this.hostnames = new Set(options.hostnames.map((host) => host.toLowerCase()));
  }

  /** Verifies `tokenText` for the connecting device (or module, with `moduleId`). */
  verify(tokenText: string, deviceId: string, moduleId?: string): AuthResult {
    return this.check(tokenText, deviceId, moduleId).result;
  }

  /**
   * As `verify`, and when it succeeds also until when the token is good (its expiry plus the
   * allowed clock skew): for a cache of whole logins in front of this one. `cached` false: the
   * token cache is neither read nor filled, because the caller's own cache (MQTT's login cache)
   * holds the answer; a token kept in both cost a parsed token, its strings and a map entry per
   * device, about 0.8 KB (issue 20: memory per idle connection).
   */
  check(tokenText: string, deviceId: string, moduleId?: string, cached = true): { readonly result: AuthResult; readonly expiresAtMs?: number } {
    const nowMs = this.options.now();
    const cacheKey = cached && this.options.cacheSize > 0 ? TokenCache.keyOf(tokenText) : undefined;
    const hit = cacheKey === undefined ? undefined : this.cache.get(cacheKey, nowMs);
    let token: SasToken;
    if (hit !== undefined) token = hit.token;
    else {
      const parsed = parseSasToken(tokenText);
      if (!parsed.ok) return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', `malformed SAS token: ${parsed.reason}`) };
      token = parsed.token;
    }

    const expiresAtMs = token.expirySec * 1000 + this.options.clockSkewMs;
    if (nowMs > expiresAtMs) return { result: authFailure('OUTPOST_AUTH_TOKEN_EXPIRED', 'SAS token expired') };
    if (!this.hostnames.has(token.hostname.toLowerCase())) {
      return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'SAS token audience is neither the IoT hub nor this gateway', `audience host ${token.hostname}`) };
    }
    // On behalf of (nested edge): an edge device's token (or its $edgeHub's) put for an identity in
    // its scope, or for one of its own modules unknown here (its agent created it). Any other
    // device's token stays a token for another identity.
    const registry = this.options.registry;
    const onBehalf =
      (!matchesId(token.deviceIds, deviceId) && token.deviceIds.some((id) => registry.get(id)?.edge === true)) ||
      (token.moduleIds !== undefined && moduleId !== undefined && isEdgeHub(token.moduleIds) && !matchesId(token.moduleIds, moduleId)) ||
      (token.moduleIds === undefined && moduleId !== undefined && registry.get(deviceId)?.edge === true && registry.entry(deviceId, moduleId) === undefined);
    if (onBehalf) return this.onBehalfOf(token, deviceId, moduleId, cacheKey, hit, expiresAtMs);
    if (!matchesId(token.deviceIds, deviceId)) return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'SAS token is for another device') };
    if (token.moduleIds !== undefined) {
      if (moduleId === undefined) return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'a module SAS token cannot authenticate a device') };
      if (!matchesId(token.moduleIds, moduleId)) return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', 'SAS token is for another module') };
    }

    const key = identityKey(deviceId, moduleId);
    const target = this.options.registry.entry(deviceId, moduleId);
    if (target === undefined) {
      // Spend what a wrong key would cost, so the answer's timing does not tell ids apart either.
      checkSignature(token, DECOY);
      return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', GENERIC_DETAIL, `${key} is not in the identity registry`) };
    }
    const device = moduleId === undefined ? target : this.options.registry.entry(deviceId);
    if (target.record.status !== 'enabled' || (device !== undefined && device.record.status !== 'enabled')) {
      return { result: authFailure('OUTPOST_AUTH_IDENTITY_DISABLED', `${device?.record.status === 'disabled' ? deviceId : key} is disabled`) };
    }
    // A device-scope token is signed with the device's key, also when a module presents it.
    const signer = token.moduleIds === undefined ? device : target;
    if (signer === undefined) {
      checkSignature(token, DECOY);
      return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', GENERIC_DETAIL, `device ${deviceId} is not in the identity registry`) };
    }
    const signerKey = identityKey(signer.record.deviceId, signer.record.moduleId);
    if (signer.keys === undefined) {
      return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', `${signerKey} does not authenticate with SAS keys`, `${signerKey} uses ${signer.record.authentication.type}`) };
    }
    // The registry's own strings: the claimed ids are equal to them (looked up exactly) but cut from
    // the user name or token, which they would keep alive for as long as the identity lives
    // (about 90 bytes per connected device, issue 20).
    const { deviceId: ownDeviceId, moduleId: ownModuleId } = target.record;
    if (hit !== undefined && hit.signerKey === signerKey && hit.revision === signer.revision) {
      return { result: { ok: true, identity: identityOf(ownDeviceId, ownModuleId) }, expiresAtMs };
    }
    const check = checkSignature(token, signer);
    if (check !== undefined) return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', check === 'malformed' ? 'SAS token signature is not base64 of an HMAC-SHA256' : GENERIC_DETAIL, check === 'mismatch' ? `signature matches neither key of ${signerKey}` : undefined) };
    if (cacheKey !== undefined) this.cache.set(cacheKey, { token, signerKey, revision: signer.revision, expiresAtMs });
    return { result: { ok: true, identity: identityOf(ownDeviceId, ownModuleId) }, expiresAtMs };
  }

  /**
   * On-behalf-of: the token is the actor's (an edge device, or its `$edgeHub` module), put for
   * an identity it may act for (auth-chain.ts). The actor's key verifies it; the chain is checked
   * on every call, so an identity moved or removed here is refused at once, cached token or not.
   */
  private onBehalfOf(token: SasToken, deviceId: string, moduleId: string | undefined, cacheKey: string | undefined, cached: CachedToken | undefined, expiresAtMs: number): { readonly result: AuthResult; readonly expiresAtMs?: number } {
    const registry = this.options.registry;
    const target = identityKey(deviceId, moduleId);
    const actorId = token.deviceIds.find((id) => registry.get(id) !== undefined) ?? token.deviceIds[0]!;
    const problem = onBehalfOfProblem(registry, actorId, deviceId, moduleId);
    if (problem !== undefined) {
      checkSignature(token, DECOY);
      return { result: authFailure('OUTPOST_AUTH_NOT_IN_SCOPE', `${actorId} may not act for ${target}: not in its device scope`, problem) };
    }
    const targetDevice = registry.entry(deviceId);
    const targetModule = moduleId === undefined ? undefined : registry.entry(deviceId, moduleId);
    if (targetDevice?.record.status === 'disabled' || targetModule?.record.status === 'disabled') {
      return { result: authFailure('OUTPOST_AUTH_IDENTITY_DISABLED', `${targetDevice?.record.status === 'disabled' ? deviceId : target} is disabled`) };
    }
    const signerModule = token.moduleIds === undefined ? undefined : token.moduleIds.find((id) => registry.get(actorId, id) !== undefined) ?? token.moduleIds[0]!;
    if (signerModule !== undefined && signerModule.toLowerCase() !== EDGE_HUB_MODULE.toLowerCase()) {
      return { result: authFailure('OUTPOST_AUTH_NOT_IN_SCOPE', `only ${actorId} or its ${EDGE_HUB_MODULE} module may act for ${target}`) };
    }
    const signer = registry.entry(actorId, signerModule);
    const signerKey = identityKey(actorId, signerModule);
    if (signer === undefined || signer.keys === undefined) {
      checkSignature(token, DECOY);
      return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', GENERIC_DETAIL, `${signerKey} has no SAS keys here`) };
    }
    const identity = identityOf(deviceId, moduleId);
    if (cached !== undefined && cached.signerKey === signerKey && cached.revision === signer.revision) return { result: { ok: true, identity, actor: actorId }, expiresAtMs };
    const check = checkSignature(token, signer);
    if (check !== undefined) return { result: authFailure('OUTPOST_AUTH_BAD_CREDENTIALS', GENERIC_DETAIL, `on-behalf-of token for ${target}: signature matches neither key of ${signerKey}`) };
    if (cacheKey !== undefined) this.cache.set(cacheKey, { token, signerKey, revision: signer.revision, expiresAtMs });
    return { result: { ok: true, identity, actor: actorId }, expiresAtMs };
  }
}

function isEdgeHub(moduleIds: readonly string[]): boolean {
  return moduleIds.some((id) => id.toLowerCase() === EDGE_HUB_MODULE.toLowerCase());
}

function identityOf(deviceId: string, moduleId: string | undefined): Extract<AuthResult, { ok: true }>['identity'] {
  return moduleId === undefined ? { kind: 'device', deviceId, authMethod: 'sas' } : { kind: 'module', deviceId, moduleId, authMethod: 'sas' };
}

function matchesId(spellings: readonly string[], id: string): boolean {
  const wanted = id.toLowerCase();
  return spellings.some((spelling) => spelling.toLowerCase() === wanted);
}

/** undefined when the signature verifies with the primary or the secondary key. */
function checkSignature(token: SasToken, signer: Pick<RegistryEntry, 'keys'>): 'malformed' | 'mismatch' | undefined {
  const provided = Buffer.from(token.signature, 'base64');
  // Only canonical base64 of 32 bytes can match; the length of a signature is no secret, so
  // refusing other lengths early leaks nothing and keeps timingSafeEqual's inputs equal-sized.
  if (provided.length !== HMAC_BYTES || provided.toString('base64') !== token.signature) return 'malformed';
  const signed = `${token.resourceRaw}\n${token.expiryRaw}`;
  for (const key of [signer.keys!.primary, signer.keys!.secondary]) {
    const expected = crypto.createHmac('sha256', key).update(signed, 'utf8').digest();
    if (crypto.timingSafeEqual(expected, provided)) return undefined;
  }
  return 'mismatch';
}
