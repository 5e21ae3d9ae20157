import type { ConnectedClients } from '../core/index.js';
import type { EndpointTarget } from './endpoint-target.js';

export interface ModuleInputTargetOptions {
  /** The hub core's registry: the module's live link subscribed to its inputs, whatever the protocol. */
  readonly clients: ConnectedClients;
  /** Module inputs are those of this edge device's modules (`{edgeDeviceId}/{moduleId}`). */
  readonly edgeDeviceId: string;
}

/** Identity strings kept per module id: one string per module, not one per delivered message. */
const MAX_CACHED_IDENTITIES = 4096;

/**
 * Delivery to module inputs through the hub core: the module's newest link subscribed to its
 * inputs (`ConnectedClients.linkFor`) sends the message (`ClientLink.sendModuleInput`), over
 * whatever protocol the module connected with. A module without such a link is unavailable (the
 * store keeps the messages and tries again). `$upstream` has no link yet: never available here,
 * so its queue keeps the messages until the upstream link drains it or they expire.
 */
export function moduleInputTarget(options: ModuleInputTargetOptions): EndpointTarget {
  const { clients, edgeDeviceId } = options;
  const identities = new Map<string, string>();
  return {
    deliver(endpoint, message, onSettled) {
      if (endpoint.kind !== 'moduleInput') return false;
      let identity = identities.get(endpoint.moduleId);
      if (identity === undefined) {
        identity = `${edgeDeviceId}/${endpoint.moduleId}`;
        if (identities.size >= MAX_CACHED_IDENTITIES) identities.clear();
        identities.set(endpoint.moduleId, identity);
      }
      const link = clients.linkFor(identity, 'module-inputs');
      if (link === undefined) return false;
      return link.sendModuleInput(endpoint.inputName, message, onSettled);
    },
  };
}
