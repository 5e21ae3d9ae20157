/**
 * Piscina task: compiles the `routes` of a deployment into a serializable route table (generated
 * condition source plus its constants, endpoints, priorities, TTLs and the rejected routes). The
 * main thread reaches it through RouteCompilerPool; shard workers instantiate the result with
 * RouteTable.fromData.
 */
import { compileRouteTable, type CompiledRouteTableData, type RouteCompileTask } from '../src/hub/routing/index.js';

export default function compileRoutes(task: RouteCompileTask): CompiledRouteTableData {
  return compileRouteTable(task.routes, task.schemaVersion === undefined ? {} : { schemaVersion: task.schemaVersion });
}
