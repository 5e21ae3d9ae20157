/**
 * Who may use an MQTT client id, and the session kept under it. A session belongs to the identity
 * that created it: only that identity may resume it or take it over (an anonymous client that
 * reused a module's client id would otherwise disconnect the module and read its inputs). And the
 * client id of an IoT Hub identity (`device` or `device/module`) is that identity's alone on every
 * listener, whether or not a session exists yet. Checked once per CONNECT; pure.
 */
import type { ClientIdentity } from './authenticator.js';

/** The identities the gateway knows (the identity registry implements it). */
export interface IdentityLookup {
  get(deviceId: string, moduleId?: string): unknown;
}

export type ClientIdRefusal = 'session-owned-by-another-identity' | 'client-id-reserved';

/**
 * Undefined when `identity` may connect as `clientId`; otherwise why not. `sessionOwner` is the
 * owner of the session already held under the client id (connected or waiting), if any.
 * `edgeDeviceId`: the edge device's own id and `{edge}/{anything}` are reserved even before the
 * registry has the module (a deployment adds module identities as it starts them).
 */
export function clientIdRefusal(
  identity: ClientIdentity,
  clientId: string,
  sessionOwner: unknown,
  identities: IdentityLookup | undefined,
  edgeDeviceId: string | undefined,
): ClientIdRefusal | undefined {
  if (sessionOwner !== undefined && !sameIdentity(identity, sessionOwner as ClientIdentity)) return 'session-owned-by-another-identity';
  if (identity.kind !== 'anonymous' && clientId === ownClientId(identity)) return undefined;
  const slash = clientId.indexOf('/');
  const deviceId = slash === -1 ? clientId : clientId.slice(0, slash);
  const moduleId = slash === -1 ? undefined : clientId.slice(slash + 1);
  if (edgeDeviceId !== undefined && deviceId === edgeDeviceId) return 'client-id-reserved';
  if (identities !== undefined && deviceId.length > 0 && moduleId !== '' && identities.get(deviceId, moduleId) !== undefined) return 'client-id-reserved';
  return undefined;
}

/**
 * The key sessions are counted under for `mqtt.maxSessionsPerIdentity`: the identity's client id,
 * or one key for every anonymous client. Undefined for an owner that is not an identity.
 */
export function sessionOwnerKey(owner: unknown): string | undefined {
  const identity = owner as ClientIdentity | undefined;
  if (identity === undefined || identity === null || typeof identity !== 'object') return undefined;
  if (identity.kind === 'anonymous') return ANONYMOUS_KEY;
  if (identity.kind === 'device' || identity.kind === 'module') return ownClientId(identity);
  return undefined;
}

/** No device id holds a '/', so no identity's client id starts with one: this never collides. */
const ANONYMOUS_KEY = '/anonymous';

function ownClientId(identity: Exclude<ClientIdentity, { kind: 'anonymous' }>): string {
  return identity.kind === 'module' ? `${identity.deviceId}/${identity.moduleId}` : identity.deviceId;
}

function sameIdentity(a: ClientIdentity, b: ClientIdentity): boolean {
  if (b === null || typeof b !== 'object' || a.kind !== b.kind) return false;
  if (a.kind === 'anonymous') return true;
  if (a.deviceId !== (b as typeof a).deviceId) return false;
  return a.kind === 'device' || a.moduleId === (b as typeof a).moduleId;
}
