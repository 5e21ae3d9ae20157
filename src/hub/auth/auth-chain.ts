/**
 * Auth chains (nested edge, notes 6.2 and `AuthChainHelpers.cs`): the ids from an identity up its
 * parent links, `leaf;edge;parentEdge…`. A module's chain starts with `device/module`, then its
 * device's. Within this gateway's registry every chain ends with this edge device; the chain an
 * edge device sends upstream (`com.microsoft:auth-chain`) ends with itself, the actor.
 *
 * The on-behalf-of rule: an edge device may act for an identity (sign the identity's put-token
 * with its own key) only when it is on that identity's chain here, is an edge device, and is a
 * descendant of this gateway. So a parent acts only for its own descendants, and a child cannot
 * claim an identity registered under another edge device. Pure: relations come from the registry.
 */
import type { IdentityRecord } from './identity-record.js';
import { identityKey } from './identity-record.js';

/** What the chain walk reads from the registry. */
export interface ChainLookup {
  readonly edgeDeviceId: string;
  get(deviceId: string, moduleId?: string): IdentityRecord | undefined;
}

/** Nested IoT Edge allows 5 layers; the bound also stops a parent cycle in bad data. */
const MAX_DEPTH = 8;
const SEPARATOR = ';';

/**
 * The chain of a device here: itself, then each parent up to this edge device. Undefined when a
 * device on the way is unknown, or the walk never reaches this edge device (not in its tree).
 */
export function deviceChain(registry: ChainLookup, deviceId: string): string[] | undefined {
  const chain: string[] = [];
  let current = deviceId;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    chain.push(current);
    if (current === registry.edgeDeviceId) return chain;
    const parent = registry.get(current)?.parentDeviceId;
    if (parent === undefined) return undefined;
    current = parent;
  }
  return undefined;
}

/** The chain of a device or module here (a module first names itself, then its device's chain). */
export function identityChain(registry: ChainLookup, deviceId: string, moduleId: string | undefined): string[] | undefined {
  const chain = deviceChain(registry, deviceId);
  if (chain === undefined || moduleId === undefined) return chain;
  return [identityKey(deviceId, moduleId), ...chain];
}

/** `a;b;c`, the link property's form. */
export function formatAuthChain(chain: readonly string[]): string {
  return chain.join(SEPARATOR);
}

/**
 * Why `actorDeviceId` may not act for the identity here, or undefined when it may. The text may
 * reach the peer: it names ids only.
 */
export function onBehalfOfProblem(registry: ChainLookup, actorDeviceId: string, deviceId: string, moduleId: string | undefined): string | undefined {
  const target = identityKey(deviceId, moduleId);
  if (actorDeviceId === registry.edgeDeviceId) return `${actorDeviceId} is this gateway; it does not act on behalf of others here`;
  const actor = registry.get(actorDeviceId);
  if (actor === undefined || actor.edge !== true) return `${actorDeviceId} is not an edge device registered here, so it acts for no one`;
  if (actor.status !== 'enabled') return `edge device ${actorDeviceId} is disabled`;
  const chain = deviceChain(registry, deviceId);
  if (chain === undefined || (deviceId !== actorDeviceId && registry.get(deviceId) === undefined)) return `${target} is not in this gateway's registry`;
  const at = chain.indexOf(actorDeviceId);
  // The actor must be below this gateway: its own chain reaches it (index < last).
  if (at < 0 || at === chain.length - 1) return `${target} is not in the device scope of ${actorDeviceId} (its chain here is ${formatAuthChain(chain)})`;
  // A module of an edge device (the actor or one below it) may be unknown here: that edge device's
  // agent created it. A module of any other device must be registered.
  if (moduleId !== undefined && registry.get(deviceId, moduleId) === undefined && deviceId !== actorDeviceId && registry.get(deviceId)?.edge !== true) {
    return `${target} is not in this gateway's registry`;
  }
  return undefined;
}

/**
 * Why a link's `com.microsoft:auth-chain` does not fit the identity that authenticated it, or
 * undefined: it must start with the identity, follow the identity's chain here, and end with
 * the actor when an edge device acts for it.
 */
export function authChainProblem(registry: ChainLookup, text: string, deviceId: string, moduleId: string | undefined, actorDeviceId: string | undefined): string | undefined {
  const sent = text.split(SEPARATOR).filter((id) => id.length > 0);
  const target = identityKey(deviceId, moduleId);
  if (sent.length === 0 || sent[0] !== target) return `the auth-chain must start with ${target}`;
  const known = identityChain(registry, deviceId, moduleId);
  if (known === undefined) return `${target} has no chain here`;
  if (sent.length > known.length || sent.some((id, index) => known[index] !== id)) return `the auth-chain ${formatAuthChain(sent)} does not follow ${target}'s chain here (${formatAuthChain(known)})`;
  if (actorDeviceId !== undefined && sent[sent.length - 1] !== actorDeviceId) return `the auth-chain must end with ${actorDeviceId}, which signed the token`;
  return undefined;
}
