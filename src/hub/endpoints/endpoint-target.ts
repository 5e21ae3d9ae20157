import type { HubMessage } from '../message/index.js';
import type { RouteEndpoint } from '../routing/index.js';
import type { DeliveryOutcome } from './message-sink.js';

/**
 * Hands routed messages to an endpoint: one interface for every endpoint the store delivers to
 * (module inputs now, `$upstream` with the upstream link). `deliver` returns false when the
 * endpoint cannot take the message now (module not connected, its window full, no upstream link):
 * nothing was sent and the store tries again later. Otherwise `onSettled` is called exactly once.
 * Targets deliver through the hub core (ConnectedClients → ClientLink), never through a
 * transport's own sessions.
 */
export interface EndpointTarget {
  /** `'sourceUnavailable'`: nothing was sent, only this message's source is held up (see `sourceOf`). */
  deliver(endpoint: RouteEndpoint, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean | 'sourceUnavailable';
  /**
   * For a target that delivers each source on its own (`$upstream`: one identity each, one may be
   * refused while the others flow): the key of a message's source. A source whose message is
   * `sourceUnavailable` or `lost` waits out a backoff of its own; the store goes on with the other
   * sources' messages, each source's still in order. Undefined (or no `sourceOf`): the whole
   * endpoint backs off, as for module inputs.
   */
  sourceOf?(endpoint: RouteEndpoint, message: HubMessage): string | undefined;
}
