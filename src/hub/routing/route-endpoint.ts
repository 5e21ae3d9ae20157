import type { ParsedSink } from './route-parser.js';
import { fail } from './route-problem.js';

/**
 * Where a route sends messages. `id` is the stable key endpoint queues are named by: `$upstream`,
 * or `/modules/<module>/inputs/<input>`; all routes to one id share one endpoint (and so a message
 * reaches it at most once).
 */
export type RouteEndpoint =
  | { readonly kind: 'upstream'; readonly id: '$upstream' }
  | { readonly kind: 'moduleInput'; readonly id: string; readonly moduleId: string; readonly inputName: string };

export const UPSTREAM: RouteEndpoint = { kind: 'upstream', id: '$upstream' };

/**
 * Resolves a parsed sink (Azure's `EndpointFactory`, section 4.1 of the notes). `$upstream` and
 * `BrokeredEndpoint` are case-insensitive. The address is used raw (no unescaping), trimmed, one
 * leading and one trailing '/' removed, and split on '/' into exactly four segments.
 *
 * Stricter than Azure: Azure never looks at segments 0 and 2, so `/a/b/c/d` routes to input `d` of
 * module `b`. Outpost requires them to read `modules` and `inputs` (any case), and module and input
 * names to be non-empty, so a typo is reported instead of routing somewhere unexpected.
 */
export function resolveEndpoint(sink: ParsedSink, text: string): RouteEndpoint {
  if (sink.kind === 'system') {
    if (sink.name.toLowerCase() === '$upstream') return UPSTREAM;
    return fail('OUTPOST_ROUTE_INVALID_SINK', `unsupported system endpoint '${sink.name}': the only one is $upstream`, text, sink.start, sink.end - sink.start);
  }
  if (sink.name.toLowerCase() !== 'brokeredendpoint') {
    return fail('OUTPOST_ROUTE_INVALID_SINK', `unsupported endpoint function '${sink.name}': use BrokeredEndpoint("/modules/<module>/inputs/<input>")`, text, sink.start, sink.name.length);
  }
  const segments = sink.address.trim().replace(/^\//, '').replace(/\/$/, '').split('/');
  const [modules, moduleId, inputs, inputName] = segments;
  const shape = '"/modules/<module>/inputs/<input>"';
  if (segments.length !== 4 || moduleId === undefined || inputName === undefined) {
    return fail('OUTPOST_ROUTE_INVALID_SINK', `BrokeredEndpoint address "${sink.address}" must have four segments, ${shape}`, text, sink.addressStart, sink.address.length);
  }
  if (modules?.toLowerCase() !== 'modules' || inputs?.toLowerCase() !== 'inputs') {
    return fail('OUTPOST_ROUTE_INVALID_SINK', `BrokeredEndpoint address "${sink.address}" must read ${shape} (Azure ignores the 1st and 3rd segments; Outpost checks them)`, text, sink.addressStart, sink.address.length);
  }
  if (moduleId.trim() === '' || inputName.trim() === '') {
    return fail('OUTPOST_ROUTE_INVALID_SINK', `BrokeredEndpoint address "${sink.address}" has an empty module or input name`, text, sink.addressStart, sink.address.length);
  }
  return { kind: 'moduleInput', id: `/modules/${moduleId}/inputs/${inputName}`, moduleId, inputName };
}
