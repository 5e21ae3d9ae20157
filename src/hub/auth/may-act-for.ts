/**
 * The IoT Hub rule of who may use whose IoT Hub topics and links: an identity acts for itself; a
 * device acts for its own modules and, walking parent links, for every device below it and
 * their modules (a parent edge device acting for its children, nested edge included); a child
 * edge's `$edgeHub` module acts for whatever its device may act for (that is how a child edge
 * hub connects upstream). A module never acts for another module, and nothing acts for its parent.
 *
 * Pure: relations come from `scope` (the identity registry implements it).
 */
import type { ClientIdentity } from './authenticator.js';

/** Parent links of devices: the edge device a device connects through. */
export interface DeviceScope {
  parentOf(deviceId: string): string | undefined;
}

/** Nested IoT Edge allows 5 layers; the bound also stops a parent cycle in bad data. */
const MAX_DEPTH = 8;
const EDGE_HUB_MODULE = '$edgeHub';

export function mayActFor(identity: ClientIdentity, targetDeviceId: string, targetModuleId: string | undefined, scope: DeviceScope): boolean {
  if (identity.kind === 'anonymous') return false;
  if (identity.kind === 'module') {
    if (identity.deviceId === targetDeviceId && identity.moduleId === targetModuleId) return true;
    if (identity.moduleId !== EDGE_HUB_MODULE) return false;
  }
  // Here the actor is a device, or the $edgeHub module speaking for its device.
  const actor = identity.deviceId;
  if (targetDeviceId === actor) return true;
  let current: string | undefined = targetDeviceId;
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined; depth++) {
    current = scope.parentOf(current);
    if (current === actor) return true;
  }
  return false;
}
