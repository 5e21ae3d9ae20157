import type { IdentityClaim } from './authenticator.js';

/**
 * The claim of a transport whose client id is the identity itself, `device` or `device/module`
 * (an AMQP CBS token's audience reduced to its ids, a test client).
 */
export function claimFromClientId(clientId: string): IdentityClaim {
  const slash = clientId.indexOf('/');
  const deviceId = slash === -1 ? clientId : clientId.slice(0, slash);
  const moduleId = slash === -1 ? undefined : clientId.slice(slash + 1);
  if (deviceId.length === 0 || moduleId?.length === 0) return { ok: false, code: 'OUTPOST_AUTH_BAD_CREDENTIALS', reason: 'client id must be {device} or {device}/{module}' };
  return moduleId === undefined ? { ok: true, deviceId } : { ok: true, deviceId, moduleId };
}
