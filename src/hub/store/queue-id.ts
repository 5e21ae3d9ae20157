import { DEFAULT_PRIORITY, type RouteEndpoint } from '../routing/index.js';

/**
 * An endpoint has one queue per route priority it receives messages at (as Azure's
 * `<endpoint>_Pri<n>`), delivered highest priority (lowest number) first. The queue of the
 * default priority (routes without one) keeps the endpoint id itself, so stores written before
 * priorities existed read unchanged. Endpoint ids start with '/' or '$' (route-endpoint.ts), so
 * `<priority>:<endpoint id>` never equals another endpoint's id.
 */
export function queueIdOf(endpointId: string, priority: number): string {
  return priority === DEFAULT_PRIORITY ? endpointId : `${priority}:${endpointId}`;
}

/** One queue: its endpoint, its priority and its id (the storage key). */
export interface QueueRef {
  readonly id: string;
  readonly endpoint: RouteEndpoint;
  readonly priority: number;
}
