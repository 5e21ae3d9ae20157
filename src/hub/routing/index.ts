export { parseRoute, type ParsedRoute, type ParsedSink, type RouteParseResult } from './route-parser.js';
export { compileCondition, type CompiledConditionData, type CompileOptions, type ConditionCompileResult } from './condition-compiler.js';
export {
  compileRoute,
  compileRouteTable,
  describeRejected,
  type CompiledRoute,
  type CompiledRouteEntry,
  type CompiledRouteTableData,
  type RejectedRoute,
  type RouteCompileResult,
} from './route-compiler.js';
export { RouteTable, type BatchRouting, type RouteTarget, type TableRoute } from './route-table.js';
export { COMPILER_IDLE_TIMEOUT_MS, RouteCompilerPool, type RouteCompileTask } from './route-compiler-pool.js';
export { instantiateCondition, type ConditionFn } from './instantiate-condition.js';
export { MessageView } from './message-view.js';
export { normalizeSource, sourceMatches, sourceCanMatch } from './route-source.js';
export { UPSTREAM, type RouteEndpoint } from './route-endpoint.js';
export { DEFAULT_PRIORITY, readRouteSpec, type RouteSpec } from './route-spec.js';
export { Tri } from './route-runtime.js';
export { describeProblem, pointAtProblem, problemToError, type RouteErrorCode, type RouteProblem } from './route-problem.js';
