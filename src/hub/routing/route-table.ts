import type { HubMessage } from '../message/index.js';
import { instantiateCondition, type ConditionFn } from './instantiate-condition.js';
import { MessageView } from './message-view.js';
import type { CompiledRouteTableData, RejectedRoute } from './route-compiler.js';
import type { RouteEndpoint } from './route-endpoint.js';
import type { Tri } from './route-runtime.js';
import { messageSourceKey } from './route-source.js';

/**
 * A compiled route table, ready to evaluate batches in a shard worker (section 4.10 of the notes).
 *
 * Invariants:
 * - Only True forwards. For each message, every route whose source matches and whose condition is
 *   True chooses its endpoint; a message reaches an endpoint at most once, with the lowest
 *   priority number among the routes that chose it (manifest order breaks ties), and that
 *   route's TTL.
 * - A message's body is decoded and parsed at most once, however many routes query it.
 * - Evaluation never throws: a condition that throws (a defect) counts as Undefined and in
 *   `errors`, and the other routes still run.
 * - A table is immutable; a new route table is swapped in by replacing the reference.
 */

export interface TableRoute {
  readonly name: string;
  readonly text: string;
  readonly source: string;
  readonly endpoint: RouteEndpoint;
  readonly endpointIndex: number;
  readonly priority: number;
  /** 0 = inherit the store's timeToLiveSecs. */
  readonly ttlSec: number;
}

export interface RouteTarget {
  readonly endpoint: RouteEndpoint;
  readonly priority: number;
  readonly ttlSec: number;
  /** The name of the route that chose this endpoint. */
  readonly route: string;
}

export interface BatchRouting {
  /** Message i goes to `routes[routeIndexes[j]]` for offsets[i] <= j < offsets[i + 1], one per endpoint. */
  readonly offsets: Uint32Array;
  readonly routeIndexes: Uint32Array;
  /** Conditions evaluated to Undefined (Azure logs these as user analytics). */
  readonly undefinedResults: number;
  /** Conditions that threw; always 0 unless there is a defect. */
  readonly errors: number;
}

const SOURCE_CACHE_LIMIT = 4096;

export class RouteTable {
  readonly routes: readonly TableRoute[];
  readonly endpoints: readonly RouteEndpoint[];
  readonly rejected: readonly RejectedRoute[];
  private readonly conditions: readonly (ConditionFn | null)[];
  private readonly sourcePrefixes: readonly string[];
  /** Message source → indexes of the routes whose FROM matches it; sources repeat a lot. */
  private readonly candidates = new Map<string, Uint32Array>();
  private readonly view = new MessageView();
  private readonly chosen: Int32Array;
  private readonly stamp: Float64Array;
  private readonly touched: Uint32Array;
  private epoch = 0;
  private scratch = new Uint32Array(256);

  static fromData(data: CompiledRouteTableData): RouteTable {
    return new RouteTable(data);
  }

  private constructor(data: CompiledRouteTableData) {
    const endpointIds = new Map<string, number>();
    const endpoints: RouteEndpoint[] = [];
    const routes: TableRoute[] = [];
    const conditions: (ConditionFn | null)[] = [];
    const rejected = [...data.rejected];
    for (const route of data.routes) {
      let condition: ConditionFn | null = null;
      try {
        condition = route.compiled.alwaysTrue ? null : instantiateCondition(route.compiled);
      } catch (error) {
        // Only corrupted data gets here (the compiler never emits such code); drop this route alone.
        const message = `route "${route.name}": compiled condition refused: ${error instanceof Error ? error.message : String(error)}`;
        rejected.push({ name: route.name, text: route.text, error: { code: 'OUTPOST_INTERNAL', message } });
        continue;
      }
      let endpointIndex = endpointIds.get(route.endpoint.id);
      if (endpointIndex === undefined) {
        endpointIndex = endpoints.push(route.endpoint) - 1;
        endpointIds.set(route.endpoint.id, endpointIndex);
      }
      routes.push({ name: route.name, text: route.text, source: route.source, endpoint: route.endpoint, endpointIndex, priority: route.priority, ttlSec: route.ttlSec });
      conditions.push(condition);
    }
    this.routes = routes;
    this.conditions = conditions;
    this.sourcePrefixes = routes.map((route) => route.source.toLowerCase());
    this.endpoints = endpoints;
    this.rejected = rejected;
    this.chosen = new Int32Array(endpoints.length);
    this.stamp = new Float64Array(endpoints.length);
    this.touched = new Uint32Array(endpoints.length);
  }

  /** How many bodies this table has parsed (tests prove "at most once per message" with it). */
  get bodyParses(): number {
    return this.view.bodyParses;
  }

  evaluateBatch(messages: readonly HubMessage[]): BatchRouting {
    const offsets = new Uint32Array(messages.length + 1);
    const { routes, conditions, chosen, stamp, touched, view } = this;
    let count = 0;
    let undefinedResults = 0;
    let errors = 0;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      view.reset(message);
      const candidates = this.candidatesFor(message.source);
      const epoch = ++this.epoch;
      let touchedCount = 0;
      for (let c = 0; c < candidates.length; c++) {
        const index = candidates[c]!;
        const route = routes[index]!;
        const endpoint = route.endpointIndex;
        // A route cannot change the outcome if its endpoint is already chosen at a priority at
        // least as high; skip its condition (the common case of many routes to $upstream).
        if (stamp[endpoint] === epoch && routes[chosen[endpoint]!]!.priority <= route.priority) continue;
        const condition = conditions[index]!;
        let result: Tri = 1;
        if (condition !== null) {
          try {
            result = condition(view);
          } catch {
            errors++;
            result = 0;
          }
        }
        if (result !== 1) {
          if (result === 0) undefinedResults++;
          continue;
        }
        if (stamp[endpoint] !== epoch) {
          stamp[endpoint] = epoch;
          chosen[endpoint] = index;
          touched[touchedCount++] = endpoint;
        } else {
          chosen[endpoint] = index;
        }
      }
      if (count + touchedCount > this.scratch.length) this.grow(count + touchedCount);
      for (let t = 0; t < touchedCount; t++) this.scratch[count++] = chosen[touched[t]!]!;
      offsets[i + 1] = count;
    }
    view.clear();
    return { offsets, routeIndexes: this.scratch.slice(0, count), undefinedResults, errors };
  }

  /** The targets of message `i` of a batch, as objects. */
  targetsOf(batch: BatchRouting, i: number): RouteTarget[] {
    const targets: RouteTarget[] = [];
    for (let j = batch.offsets[i]!; j < batch.offsets[i + 1]!; j++) {
      const route = this.routes[batch.routeIndexes[j]!]!;
      targets.push({ endpoint: route.endpoint, priority: route.priority, ttlSec: route.ttlSec, route: route.name });
    }
    return targets;
  }

  /** One message, for tools and tests; shards use evaluateBatch. */
  route(message: HubMessage): RouteTarget[] {
    return this.targetsOf(this.evaluateBatch([message]), 0);
  }

  /** Every route's verdict on one message, without the priority shortcut (for `outpost routes test`). */
  explain(message: HubMessage): { route: string; sourceMatches: boolean; result: Tri }[] {
    this.view.reset(message);
    const key = messageSourceKey(message.source).toLowerCase();
    const verdicts = this.routes.map((route, index) => {
      const sourceMatches = key.startsWith(this.sourcePrefixes[index]!);
      const condition = this.conditions[index]!;
      return { route: route.name, sourceMatches, result: condition === null ? (1 as const) : condition(this.view) };
    });
    this.view.clear();
    return verdicts;
  }

  private candidatesFor(source: string): Uint32Array {
    let candidates = this.candidates.get(source);
    if (candidates === undefined) {
      const key = messageSourceKey(source).toLowerCase();
      const matching: number[] = [];
      for (let i = 0; i < this.sourcePrefixes.length; i++) if (key.startsWith(this.sourcePrefixes[i]!)) matching.push(i);
      candidates = Uint32Array.from(matching);
      // Sources come from authenticated identities, so they are few; the bound guards memory anyway.
      if (this.candidates.size >= SOURCE_CACHE_LIMIT) this.candidates.clear();
      this.candidates.set(source, candidates);
    }
    return candidates;
  }

  private grow(needed: number): void {
    const next = new Uint32Array(Math.max(needed, this.scratch.length * 2));
    next.set(this.scratch);
    this.scratch = next;
  }
}
