import type { CompiledRouteTableData } from '../hub/routing/index.js';
import { DEFAULT_PRIORITY, sourceMatches } from '../hub/routing/index.js';
import { messageSource } from '../hub/message/index.js';
import type { MetricFamily } from '../metrics/index.js';

/** One route as the dashboard shows it. */
export interface RouteRow {
  readonly name: string;
  readonly source: string;
  readonly condition: string;
  readonly endpoint: string;
  /** Null for a route without one (DEFAULT_PRIORITY). */
  readonly priority: number | null;
  /** Copies acknowledged by the route's endpoint from senders its FROM matches (see routeTraffic). */
  readonly moved: number;
}

export interface RejectedRow {
  readonly name: string;
  readonly error: string;
}

/**
 * What each route moved, read from `edgehub_messages_sent_total` (labels from, to,
 * from_route_output, to_route_input): the copies acknowledged by the route's endpoint whose
 * sender and output the route's FROM matches. Routes are evaluated in the store's workers and
 * a message reaches an endpoint once however many routes chose it, so nothing counts per route
 * on the message path; this attribution costs nothing there. Its limit: two routes to one
 * endpoint whose FROM both match a sender (a WHERE splitting one stream) each show the copies of
 * both. Per endpoint the figure is exact.
 */
export function routeTraffic(table: CompiledRouteTableData, sent: MetricFamily | undefined, edgeDeviceId: string): { routes: RouteRow[]; rejected: RejectedRow[] } {
  // (endpoint id) → [(message source, count)], folded from every sent series once per tick.
  const byEndpoint = new Map<string, Map<string, number>>();
  for (const { labelValues, series } of sent?.entries() ?? []) {
    const [from = '', to = '', output = '', input = ''] = labelValues;
    if (!('value' in series)) continue;
    const endpoint = to === 'upstream' ? '$upstream' : `/modules/${to.startsWith(`${edgeDeviceId}/`) ? to.slice(edgeDeviceId.length + 1) : to}/inputs/${input}`;
    // `from` is `device` or `device/module`, as the metrics label senders.
    const slash = from.indexOf('/');
    const source = messageSource(slash < 0 ? undefined : from.slice(slash + 1), output);
    let sources = byEndpoint.get(endpoint);
    if (sources === undefined) byEndpoint.set(endpoint, (sources = new Map()));
    sources.set(source, (sources.get(source) ?? 0) + series.value);
  }
  const routes = table.routes.map((route) => {
    let moved = 0;
    for (const [source, count] of byEndpoint.get(route.endpoint.id) ?? []) if (sourceMatches(route.source, source)) moved += count;
    return { name: route.name, source: route.source, condition: route.condition, endpoint: route.endpoint.id, priority: route.priority === DEFAULT_PRIORITY ? null : route.priority, moved };
  });
  const rejected = table.rejected.map((r) => ({ name: r.name, error: r.error.message }));
  return { routes, rejected };
}
