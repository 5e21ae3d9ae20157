import type { Logger } from '../../log/index.js';
import { RateLimitedLog } from '../../log/index.js';
import type { HubMessage } from '../message/index.js';
import { RouteTable, compileRouteTable, describeRejected } from '../routing/index.js';
import type { MessageSink, ModuleInputSink } from './message-sink.js';

export interface RouterCounters {
  routed: number;
  deliveredToModules: number;
  noRoute: number;
  moduleNotConnected: number;
  upstreamUnavailable: number;
}

/**
 * Routes messages on the main thread and delivers them at once, without persistence. It stands
 * in for the shard workers of the store (which evaluate routes and persist in one step) behind the
 * same MessageSink interface: acknowledged here means accepted and dispatched, not durable.
 * `$upstream` has no link yet, so those messages are counted and dropped.
 */
export class InterimRouter implements MessageSink {
  readonly counters: RouterCounters = { routed: 0, deliveredToModules: 0, noRoute: 0, moduleNotConnected: 0, upstreamUnavailable: 0 };
  private table: RouteTable;
  private readonly warn: RateLimitedLog;
  private readonly batch: HubMessage[] = [];

  constructor(
    routes: Readonly<Record<string, unknown>>,
    private readonly modules: ModuleInputSink,
    private readonly logger: Logger,
  ) {
    this.table = this.compile(routes);
    this.warn = new RateLimitedLog(logger);
  }

  /** Swaps in a new route table; invalid routes are rejected alone and logged. */
  replaceRoutes(routes: Readonly<Record<string, unknown>>): void {
    this.table = this.compile(routes);
  }

  submit(message: HubMessage): Promise<void> {
    this.batch.length = 0;
    this.batch.push(message);
    const routing = this.table.evaluateBatch(this.batch);
    const start = routing.offsets[0]!;
    const end = routing.offsets[1]!;
    this.counters.routed += 1;
    if (end === start) this.counters.noRoute += 1;
    for (let j = start; j < end; j++) {
      const route = this.table.routes[routing.routeIndexes[j]!]!;
      const endpoint = route.endpoint;
      if (endpoint.kind === 'upstream') {
        this.counters.upstreamUnavailable += 1;
        this.warn.warn('upstream', { event: 'router.upstream_unavailable', route: route.name }, 'no upstream link: message to $upstream dropped');
      } else if (this.modules.deliverToModuleInput(endpoint.moduleId, endpoint.inputName, message)) {
        this.counters.deliveredToModules += 1;
      } else {
        this.counters.moduleNotConnected += 1;
        this.warn.warn(`module:${endpoint.moduleId}`, { event: 'router.module_not_connected', moduleId: endpoint.moduleId, input: endpoint.inputName }, 'module input has no session: message dropped');
      }
    }
    return Promise.resolve();
  }

  private compile(routes: Readonly<Record<string, unknown>>): RouteTable {
    const data = compileRouteTable(routes);
    for (const rejected of data.rejected) {
      this.logger.error({ event: 'router.route_rejected', code: rejected.error.code, route: rejected.name }, describeRejected(rejected));
    }
    this.logger.info({ event: 'router.routes_loaded', routes: data.routes.map((r) => r.name), rejected: data.rejected.length }, 'routes loaded');
    return RouteTable.fromData(data);
  }
}
