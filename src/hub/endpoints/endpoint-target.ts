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
  deliver(endpoint: RouteEndpoint, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean;
}
