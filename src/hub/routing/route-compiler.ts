import type { SerializedError } from '../../errors/index.js';
import { compileConditionNode, type CompiledConditionData } from './condition-compiler.js';
import { resolveEndpoint, type RouteEndpoint } from './route-endpoint.js';
import { parseRouteOrThrow } from './route-parser.js';
import { RouteFailure, describeProblem, makeProblem, problemToError, type RouteProblem } from './route-problem.js';
import { readRouteSpec } from './route-spec.js';
import { sourceCanMatch } from './route-source.js';

/**
 * Compiles routes to plain data: what crosses from the compiler worker to the shard workers
 * (structured clone or msgpackr), where `RouteTable.fromData` turns it into functions. One
 * invalid route is rejected alone, with its name and error; the others compile.
 */

export interface CompiledRoute {
  readonly text: string;
  /** Normalized FROM path. */
  readonly source: string;
  /** The condition as written ("true" without WHERE). */
  readonly condition: string;
  readonly endpoint: RouteEndpoint;
  readonly compiled: CompiledConditionData;
  /** Things that compile but are probably mistakes (a FROM that no message can match). */
  readonly warnings: readonly string[];
}

export interface CompiledRouteEntry extends CompiledRoute {
  readonly name: string;
  readonly priority: number;
  /** 0 = inherit the store's timeToLiveSecs. */
  readonly ttlSec: number;
}

export interface RejectedRoute {
  readonly name: string;
  /** The route string, when there is one. */
  readonly text?: string;
  /** Where in `text`; absent when the problem is with the entry itself (name, priority, TTL). */
  readonly problem?: RouteProblem;
  readonly error: SerializedError;
}

export interface CompiledRouteTableData {
  /** In manifest order, which breaks ties between routes of equal priority to one endpoint. */
  readonly routes: readonly CompiledRouteEntry[];
  readonly rejected: readonly RejectedRoute[];
}

export type RouteCompileResult = { ok: true; route: CompiledRoute } | { ok: false; problem: RouteProblem };

/** Parses and compiles one route statement; error positions are offsets in `text`. */
export function compileRoute(text: string): RouteCompileResult {
  try {
    const parsed = parseRouteOrThrow(text);
    const endpoint = resolveEndpoint(parsed.sink, text);
    const compiled = compileConditionNode(parsed.conditionNode, text, { source: parsed.source });
    const warnings = sourceCanMatch(parsed.source)
      ? []
      : [`FROM ${parsed.sourceText} matches no message source (sources are /messages/…, /messages/modules/<m>/outputs/<o> and /twinChangeNotifications)`];
    return { ok: true, route: { text, source: parsed.source, condition: parsed.condition, endpoint, compiled, warnings } };
  } catch (error) {
    if (error instanceof RouteFailure) return { ok: false, problem: error.problem };
    throw error;
  }
}

/**
 * Compiles the `routes` object of $edgeHub desired properties (name → string or
 * {route, priority, timeToLiveSecs}). Never throws for bad input: everything wrong is in `rejected`.
 */
export function compileRouteTable(routes: unknown, options: { schemaVersion?: string } = {}): CompiledRouteTableData {
  const compiled: CompiledRouteEntry[] = [];
  const rejected: RejectedRoute[] = [];
  if (routes === undefined || routes === null) return { routes: compiled, rejected };
  if (typeof routes !== 'object' || Array.isArray(routes)) {
    const problem = makeProblem('OUTPOST_ROUTE_INVALID_SPEC', 'routes must be an object of route name to route', '', 0);
    return { routes: compiled, rejected: [{ name: '', error: { code: problem.code, message: problem.reason } }] };
  }
  for (const [name, value] of Object.entries(routes)) {
    const spec = readRouteSpec(name, value, options.schemaVersion);
    if (!spec.ok) {
      const message = `route "${name}": ${spec.reason}`;
      rejected.push({ name, ...(spec.text === undefined ? {} : { text: spec.text }), error: { code: 'OUTPOST_ROUTE_INVALID_SPEC', message, details: { route: name } } });
      continue;
    }
    const result = compileRoute(spec.spec.text);
    if (!result.ok) {
      rejected.push({ name, text: spec.spec.text, problem: result.problem, error: problemToError(result.problem, { route: name, text: spec.spec.text }).toJSON() });
      continue;
    }
    compiled.push({ name, priority: spec.spec.priority, ttlSec: spec.spec.ttlSec, ...result.route });
  }
  return { routes: compiled, rejected };
}

/** One line per rejected route, for logs and `outpost check`. */
export function describeRejected(rejected: RejectedRoute): string {
  const reason = rejected.problem === undefined ? rejected.error.message.replace(/^route "[^"]*": /, '') : describeProblem(rejected.problem);
  return `route "${rejected.name}": ${reason} (${rejected.error.code})`;
}
