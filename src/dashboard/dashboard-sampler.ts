import type { ReportedProperties } from '../agent/index.js';
import type { CompiledRouteTableData } from '../hub/routing/index.js';
import type { StoreMetrics, StoreStats } from '../hub/store/index.js';
import { diskOf, HistogramSeries, type MetricsRegistry } from '../metrics/index.js';
import { routeTraffic, type RejectedRow, type RouteRow } from './route-traffic.js';

/** Where the dashboard reads its figures; each is read from its owner, never counted anew. */
export interface DashboardSources {
  readonly edgeDeviceId: string;
  readonly version: string;
  readonly dataDir: string;
  readonly registry: MetricsRegistry;
  readonly store: { readonly metrics: StoreMetrics; readonly routes: CompiledRouteTableData; stats(): Promise<StoreStats> };
  /** Connected devices and modules with their links' protocols (ConnectedClients.list). */
  readonly clients: () => ReadonlyArray<{ readonly identity: string; readonly protocols: readonly string[] }>;
  /** The agent's reported properties: in this process, from its control socket, or undefined. */
  readonly modules: () => Promise<ReportedProperties | undefined>;
}

export interface ModuleRow {
  readonly name: string;
  readonly desired: string;
  readonly runtimeStatus: string;
  readonly restartCount: number;
  readonly exitCode: number | null;
  readonly startedAt: string | null;
  readonly exitedAt: string | null;
  readonly description: string;
  /** Starts counted by the agent's metrics (edgeAgent_module_start_total; a restart is one). */
  readonly starts: number | null;
}

export interface EndpointRow {
  readonly endpoint: string;
  readonly queued: number;
  readonly bytes: number;
  readonly oldestAgeSec: number | null;
}

/** One tick: what the page renders, as sent on the event stream. */
export interface DashboardSnapshot {
  readonly atMs: number;
  readonly device: string;
  readonly version: string;
  readonly uptimeSec: number;
  /** Per second over the last tick; null on the first tick (no previous figures). */
  readonly rates: { readonly inPerSec: number | null; readonly outPerSec: number | null; readonly meanLatencyMs: number | null; readonly p99StoreMs: number | null };
  readonly totals: { readonly received: number; readonly delivered: number; readonly noRoute: number; readonly expired: number; readonly dropped: number; readonly refused: number };
  readonly clients: { readonly total: number; readonly byProtocol: Readonly<Record<string, number>>; readonly identities: ReadonlyArray<{ identity: string; protocols: readonly string[] }> };
  readonly endpoints: readonly EndpointRow[];
  readonly routes: readonly RouteRow[];
  readonly rejectedRoutes: readonly RejectedRow[];
  readonly modules: { readonly available: boolean; readonly deployment: string; readonly rows: readonly ModuleRow[] };
  readonly disk: { readonly persistent: boolean; readonly storeBytes: number; readonly availableBytes: number | null; readonly totalBytes: number | null; readonly mountPoint: string | null };
}

/** Identities listed by name; past this the page shows counts only (a gateway may hold thousands). */
const MAX_LISTED_CLIENTS = 100;

/** Cumulative figures of one tick, kept to turn the next tick's into rates. */
interface Cumulative {
  readonly atMs: number;
  readonly received: number;
  readonly delivered: number;
  readonly latencyCount: number;
  readonly latencySumSec: number;
  readonly storeBuckets: Float64Array;
}

/**
 * Reads every figure the dashboard shows, once per tick and only while a page is open: the
 * store's counters and stats (one round trip to each shard worker), the metric families the hub
 * and agent already update (the message path is not touched), the connected clients and the
 * agent's reported status. Rates are differences between two ticks.
 */
export class DashboardSampler {
  private previous: Cumulative | undefined;

  constructor(private readonly sources: DashboardSources) {}

  /** Forgets the last tick: the next snapshot has no rates (after a pause with no page open). */
  reset(): void {
    this.previous = undefined;
  }

  async sample(): Promise<DashboardSnapshot> {
    const { sources } = this;
    const [stats, reported] = await Promise.all([sources.store.stats(), sources.modules().catch(() => undefined)]);
    const atMs = Date.now();
    const m = sources.store.metrics;
    const now = this.cumulative(atMs, m);
    const before = this.previous;
    this.previous = now;
    const seconds = before === undefined ? 0 : (now.atMs - before.atMs) / 1000;
    const rate = (a: number, b: number | undefined) => (b === undefined || seconds <= 0 ? null : Math.max(0, a - b) / seconds);
    const deliveredNow = before === undefined ? 0 : now.latencyCount - before.latencyCount;
    const clients = sources.clients();
    const byProtocol: Record<string, number> = {};
    for (const client of clients) for (const protocol of new Set(client.protocols)) byProtocol[protocol] = (byProtocol[protocol] ?? 0) + 1;
    const disk = stats.persistent ? diskOf(sources.dataDir) : undefined;
    const { routes, rejected } = routeTraffic(sources.store.routes, sources.registry.family('edgehub_messages_sent_total'), sources.edgeDeviceId);
    return {
      atMs,
      device: sources.edgeDeviceId,
      version: sources.version,
      uptimeSec: Math.round(process.uptime()),
      rates: {
        inPerSec: rate(now.received, before?.received),
        outPerSec: rate(now.delivered, before?.delivered),
        meanLatencyMs: before === undefined || deliveredNow <= 0 ? null : ((now.latencySumSec - before.latencySumSec) / deliveredNow) * 1000,
        p99StoreMs: before === undefined || deliveredNow <= 0 ? null : quantile(0.99, this.storeBounds(), now.storeBuckets, before.storeBuckets) * 1000,
      },
      totals: { received: m.accepted, delivered: m.delivered, noRoute: m.noRoute, expired: m.expired, dropped: m.dropped, refused: m.refusedStoreFull + m.refusedDiskFull + m.refusedWriteFailed },
      clients: { total: clients.length, byProtocol, identities: clients.slice(0, MAX_LISTED_CLIENTS).map((c) => ({ identity: c.identity, protocols: [...c.protocols] })) },
      endpoints: stats.endpoints.map((e) => ({ endpoint: e.endpoint, queued: e.queued, bytes: e.bytes, oldestAgeSec: e.oldestAgeMs === undefined ? null : e.oldestAgeMs / 1000 })),
      routes,
      rejectedRoutes: rejected,
      modules: this.modules(reported),
      disk: { persistent: stats.persistent, storeBytes: stats.totals.diskBytes, availableBytes: disk?.availableBytes ?? null, totalBytes: disk?.totalBytes ?? null, mountPoint: disk?.mountPoint ?? null },
    };
  }

  /**
   * Delivery latency of a copy is its time in the store (edgehub_message_process_duration_seconds)
   * plus its send until the acknowledgement (edgehub_message_send_duration_seconds); both are
   * observed once per acknowledged copy, so their sums add up to the total and their counts agree.
   */
  private cumulative(atMs: number, m: StoreMetrics): Cumulative {
    const { registry } = this.sources;
    let latencyCount = 0;
    let latencySumSec = 0;
    const bounds = this.storeBounds();
    const storeBuckets = new Float64Array(bounds.length + 1);
    for (const { series } of registry.family('edgehub_message_process_duration_seconds')?.entries() ?? []) {
      if (!(series instanceof HistogramSeries)) continue;
      latencyCount += series.count;
      latencySumSec += series.sum;
      for (let i = 0; i < series.counts.length && i < storeBuckets.length; i++) storeBuckets[i]! += series.counts[i]!;
    }
    for (const { series } of registry.family('edgehub_message_send_duration_seconds')?.entries() ?? []) {
      if (series instanceof HistogramSeries) latencySumSec += series.sum;
    }
    return { atMs, received: m.accepted, delivered: m.delivered, latencyCount, latencySumSec, storeBuckets };
  }

  private storeBounds(): readonly number[] {
    return this.sources.registry.family('edgehub_message_process_duration_seconds')?.definition.buckets ?? [];
  }

  private modules(reported: ReportedProperties | undefined): DashboardSnapshot['modules'] {
    if (reported === undefined) return { available: false, deployment: '', rows: [] };
    const starts = new Map<string, number>();
    for (const { labelValues, series } of this.sources.registry.family('edgeAgent_module_start_total')?.entries() ?? []) {
      const name = labelValues[0] ?? '';
      if ('value' in series) starts.set(name, (starts.get(name) ?? 0) + series.value);
    }
    const agentHere = this.sources.registry.family('edgeAgent_module_start_total') !== undefined;
    const status = (reported.lastDesiredStatus ?? {}) as { code?: number; description?: string };
    const rows = Object.entries(reported.modules ?? {}).map(([name, m]) => ({
      name,
      desired: text(m.status),
      runtimeStatus: text(m.runtimeStatus),
      restartCount: typeof m.restartCount === 'number' ? m.restartCount : 0,
      exitCode: typeof m.exitCode === 'number' ? m.exitCode : null,
      startedAt: typeof m.lastStartTimeUtc === 'string' ? m.lastStartTimeUtc : null,
      exitedAt: typeof m.lastExitTimeUtc === 'string' ? m.lastExitTimeUtc : null,
      description: text(m.statusDescription),
      starts: agentHere ? (starts.get(name) ?? 0) : null,
    }));
    return { available: true, deployment: `version ${String(reported.lastDesiredVersion ?? '?')}, status ${status.code ?? '?'}${status.description ? ` (${status.description})` : ''}`, rows };
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * histogram_quantile over the difference of two cumulative bucket arrays (non-cumulative counts
 * per bucket, the last +Inf): linear within the bucket, the top finite bound for +Inf.
 */
export function quantile(q: number, bounds: readonly number[], now: Float64Array, before: Float64Array): number {
  let total = 0;
  for (let i = 0; i < now.length; i++) total += (now[i] ?? 0) - (before[i] ?? 0);
  if (total <= 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < now.length; i++) {
    const inBucket = (now[i] ?? 0) - (before[i] ?? 0);
    if (seen + inBucket >= rank && inBucket > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? 0;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - seen) / inBucket);
    }
    seen += inBucket;
  }
  return bounds[bounds.length - 1] ?? 0;
}
