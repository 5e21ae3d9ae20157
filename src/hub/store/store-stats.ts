import { DEFAULT_PRIORITY, type RouteEndpoint } from '../routing/index.js';
import type { ShardStatsResult } from './shard-protocol.js';
import type { StoreMetrics } from './store-metrics.js';

export interface EndpointStats {
  readonly endpoint: string;
  readonly kind: RouteEndpoint['kind'];
  /** Messages queued (not yet acknowledged, expired or dropped), across shards. */
  readonly queued: number;
  readonly bytes: number;
  readonly oldestAgeMs: number | undefined;
  /** Messages queued per route priority (0 highest; `default` for routes without one), highest first. */
  readonly priorities: readonly { readonly priority: number | 'default'; readonly queued: number }[];
  /** Main-thread delivery state, when the figures come from the running hub. */
  readonly inflight?: number;
  readonly retrying?: boolean;
}

export interface ShardStats {
  readonly shard: number;
  readonly queued: number;
  readonly bytes: number;
  readonly diskBytes: number;
}

export interface StoreStats {
  readonly persistent: boolean;
  readonly dir: string | undefined;
  readonly shards: ShardStats[];
  readonly endpoints: EndpointStats[];
  readonly totals: { readonly queued: number; readonly bytes: number; readonly diskBytes: number };
  readonly metrics?: StoreMetrics;
}

/** Folds per-shard figures into per-endpoint and store totals. */
export function aggregateStats(persistent: boolean, dir: string | undefined, shards: readonly ShardStatsResult[], nowMs: number): StoreStats {
  const endpoints = new Map<string, { kind: RouteEndpoint['kind']; queued: number; bytes: number; oldest: number | undefined; priorities: Map<number, number> }>();
  for (const shard of shards) {
    for (const queue of shard.queues) {
      const entry = endpoints.get(queue.endpoint.id) ?? { kind: queue.endpoint.kind, queued: 0, bytes: 0, oldest: undefined, priorities: new Map<number, number>() };
      entry.queued += queue.tail - queue.head;
      // States from before priorities existed carry none: the default.
      const priority = queue.priority ?? DEFAULT_PRIORITY;
      entry.priorities.set(priority, (entry.priorities.get(priority) ?? 0) + queue.tail - queue.head);
      entry.bytes += queue.cumTail - queue.cumHead;
      if (queue.oldestEnqueuedAtMs !== undefined && (entry.oldest === undefined || queue.oldestEnqueuedAtMs < entry.oldest)) entry.oldest = queue.oldestEnqueuedAtMs;
      endpoints.set(queue.endpoint.id, entry);
    }
  }
  const shardStats = shards.map((s) => ({ shard: s.shard, queued: s.totals.liveCount, bytes: s.totals.liveBytes, diskBytes: s.diskBytes }));
  return {
    persistent,
    dir,
    shards: shardStats,
    endpoints: [...endpoints]
      .map(([endpoint, e]) => ({
        endpoint,
        kind: e.kind,
        queued: e.queued,
        bytes: e.bytes,
        oldestAgeMs: e.oldest === undefined ? undefined : Math.max(0, nowMs - e.oldest),
        priorities: [...e.priorities]
          .sort(([a], [b]) => a - b)
          .map(([priority, queued]) => ({ priority: priority === DEFAULT_PRIORITY ? ('default' as const) : priority, queued })),
      }))
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
    totals: {
      queued: shardStats.reduce((n, s) => n + s.queued, 0),
      bytes: shardStats.reduce((n, s) => n + s.bytes, 0),
      diskBytes: shardStats.reduce((n, s) => n + s.diskBytes, 0),
    },
  };
}
