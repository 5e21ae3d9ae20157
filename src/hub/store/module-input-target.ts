import type { ModuleInputSink } from '../endpoints/index.js';
import type { EndpointTarget } from './endpoint-dispatcher.js';

/**
 * Delivery to the endpoints that exist today: module inputs through the protocol adapters.
 * `$upstream` has no link yet, so it is never available: its queue keeps the messages until the
 * upstream link drains it or they expire (the store-and-forward behaviour).
 */
export function moduleInputTarget(sink: ModuleInputSink): EndpointTarget {
  return {
    deliver(endpoint, message, onSettled) {
      if (endpoint.kind !== 'moduleInput') return false;
      return sink.deliverToModuleInput(endpoint.moduleId, endpoint.inputName, message, onSettled);
    },
  };
}
