import type { StoreRoutes } from './message-store.js';

/**
 * The store's part of a deployment: `$edgeHub` desired properties `routes`, `schemaVersion` and
 * `storeAndForwardConfiguration.timeToLiveSecs` (section 1.3 of the notes). A TTL that is not a
 * non-negative number is ignored (the store's default applies), never fatal.
 */
export function storeRoutesFromDeployment(hubDesired: Readonly<Record<string, unknown>>): StoreRoutes {
  const schemaVersion = typeof hubDesired.schemaVersion === 'string' ? hubDesired.schemaVersion : undefined;
  const storeAndForward = hubDesired.storeAndForwardConfiguration;
  const ttl = typeof storeAndForward === 'object' && storeAndForward !== null && Object.hasOwn(storeAndForward, 'timeToLiveSecs') ? (storeAndForward as { timeToLiveSecs?: unknown }).timeToLiveSecs : undefined;
  return {
    routes: hubDesired.routes ?? {},
    ...(schemaVersion === undefined ? {} : { schemaVersion }),
    ...(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0 ? { timeToLiveSecs: Math.floor(ttl) } : {}),
  };
}
