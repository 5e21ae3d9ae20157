import type { BrokerCounters } from '../hub/broker/index.js';
import type { C2dCounters } from '../hub/c2d/index.js';
import type { StoreMetrics, StoreStats } from '../hub/store/index.js';
import type { Counter, Gauge } from './metric-family.js';
import type { HubMetrics } from './hub-metrics.js';
import type { MetricsRegistry } from './metrics-registry.js';

/** What the hub's metrics read at scrape time; each part keeps its own counters as it always did. */
export interface HubFigures {
  readonly store: { readonly metrics: StoreMetrics; stats(): Promise<StoreStats> };
  readonly broker: { readonly counters: BrokerCounters; readonly sessionCount: number };
  readonly protocolErrors: ReadonlyMap<string, number>;
  /** Connected devices and modules (ConnectedClients.list()). */
  readonly connectedClients: () => number;
  readonly connections: () => number;
  readonly c2d: { readonly counters: C2dCounters };
  /** The native addon in use: `native` or `typescript` (config.native). */
  readonly nativeImplementation: string;
}

/** StoreMetrics field → Prometheus name (outpost_store_<snake>_total), as store-metrics.ts promises. */
export function storeCounterName(field: string): string {
  return `outpost_store_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`;
}

const STORE_COUNTER_HELP: Readonly<Record<keyof StoreMetrics, string>> = {
  accepted: 'Messages written to the store (acknowledged to their senders)',
  noRoute: 'Accepted messages no route chose',
  delivered: 'Copies acknowledged by their endpoint',
  expired: 'Copies that expired before delivery (never delivered)',
  dropped: 'Copies deleted by store.fullPolicy dropOldest',
  refusedStoreFull: 'Messages refused because the store reached store.maxSize',
  refusedDiskFull: 'Messages refused because free disk space fell below store.minFreeDisk',
  refusedWriteFailed: 'Messages refused because the store write failed',
  undeliverable: 'Copies removed because they can never be delivered to their endpoint',
  redelivered: 'Copies sent again after a loss or an acknowledgement timeout',
  ackTimeouts: 'Copies given up on after store.ackTimeout (then sent again)',
};

const BROKER_DROP_REASONS: Readonly<Record<string, keyof BrokerCounters>> = {
  queue_full: 'droppedQueueFull',
  total_queue_full: 'droppedTotalQueueFull',
  congested: 'droppedCongested',
  expired: 'droppedExpired',
};

/**
 * Outpost's own metrics (outpost_…) and the Azure gauges that are read rather than counted. Every
 * figure here is read from its owner at scrape time: nothing is added to the message path.
 */
export class OutpostMetrics {
  private readonly storeCounters: [keyof StoreMetrics, Counter][];
  private readonly shardQueued: Gauge;
  private readonly shardBytes: Gauge;
  private readonly shardDiskBytes: Gauge;
  private readonly oldestAge: Gauge;
  private readonly brokerPublished: Counter;
  private readonly brokerDelivered: Counter;
  private readonly brokerDropped: Counter;
  private readonly brokerSessions: Gauge;
  private readonly protocolErrors: Counter;
  private readonly c2dQueued: Gauge;
  private readonly c2dCounters: [keyof C2dCounters, Counter][];
  private readonly connections: Gauge;
  private readonly native: Gauge;

  constructor(registry: MetricsRegistry) {
    this.storeCounters = (Object.keys(STORE_COUNTER_HELP) as (keyof StoreMetrics)[]).map((field) => [field, registry.counter({ name: storeCounterName(field), help: STORE_COUNTER_HELP[field], labelNames: [] })]);
    this.shardQueued = registry.gauge({ name: 'outpost_store_shard_queued_messages', help: 'Queue entries (routed copies) held by a store shard', labelNames: ['shard'] });
    this.shardBytes = registry.gauge({ name: 'outpost_store_shard_queued_bytes', help: 'Bytes of the queue entries held by a store shard', labelNames: ['shard'] });
    this.shardDiskBytes = registry.gauge({ name: 'outpost_store_shard_disk_bytes', help: 'Disk space used by a store shard (RocksDB files; 0 in memory)', labelNames: ['shard'] });
    this.oldestAge = registry.gauge({ name: 'outpost_store_oldest_message_age_seconds', help: 'Age of the oldest message queued for an endpoint', labelNames: ['endpoint'] });
    this.brokerPublished = registry.counter({ name: 'outpost_broker_messages_published_total', help: 'Messages published to the general MQTT broker (user topics)', labelNames: [] });
    this.brokerDelivered = registry.counter({ name: 'outpost_broker_messages_delivered_total', help: 'Deliveries of broker messages to subscribed sessions', labelNames: [] });
    this.brokerDropped = registry.counter({ name: 'outpost_broker_messages_dropped_total', help: 'Broker deliveries dropped, by reason', labelNames: ['reason'] });
    this.brokerSessions = registry.gauge({ name: 'outpost_broker_sessions', help: 'MQTT sessions the broker holds (connected or persistent)', labelNames: [] });
    this.protocolErrors = registry.counter({ name: 'outpost_mqtt_protocol_errors_total', help: 'MQTT connections closed for a protocol error, by reason', labelNames: ['reason'] });
    this.c2dQueued = registry.gauge({ name: 'outpost_c2d_queued_messages', help: 'Cloud-to-device messages queued for devices', labelNames: [] });
    this.c2dCounters = (['delivered', 'redelivered', 'expired', 'undeliverable'] as const).map((field) => [field, registry.counter({ name: `outpost_c2d_${field}_total`, help: `Cloud-to-device messages ${field}`, labelNames: [] })]);
    this.connections = registry.gauge({ name: 'outpost_connections', help: 'Open connections on every listener (MQTT, AMQP, HTTPS)', labelNames: [] });
    this.native = registry.gauge({ name: 'outpost_native_info', help: 'Which implementation of the hot-path functions runs (always 1)', labelNames: ['implementation'] });
  }

  /** Reads `figures` into these families and the Azure gauges of `hub` on every scrape. */
  attach(registry: MetricsRegistry, figures: HubFigures, hub: HubMetrics): void {
    registry.onCollect(async () => {
      for (const [field, counter] of this.storeCounters) counter.series().value = figures.store.metrics[field];
      const stats = await figures.store.stats();
      this.shardQueued.reset();
      this.shardBytes.reset();
      this.shardDiskBytes.reset();
      for (const shard of stats.shards) {
        this.shardQueued.series(String(shard.shard)).value = shard.queued;
        this.shardBytes.series(String(shard.shard)).value = shard.bytes;
        this.shardDiskBytes.series(String(shard.shard)).value = shard.diskBytes;
      }
      hub.queueLength.reset();
      this.oldestAge.reset();
      for (const endpoint of stats.endpoints) {
        // The default priority is reported as the number Azure gives routes without one.
        for (const p of endpoint.priorities) hub.queueLength.series(endpoint.endpoint, String(p.priority === 'default' ? 2_000_000_000 : p.priority)).value = p.queued;
        this.oldestAge.series(endpoint.endpoint).value = endpoint.oldestAgeMs === undefined ? 0 : endpoint.oldestAgeMs / 1000;
      }
      const m = figures.store.metrics;
      hub.messagesDropped.series('ttl_expiry', '', '').value = m.expired;
      hub.messagesUnack.series('storage_failure', '', '').value = m.refusedStoreFull + m.refusedDiskFull + m.refusedWriteFailed;
      hub.connectedClients.series().value = figures.connectedClients();
      const broker = figures.broker.counters;
      this.brokerPublished.series().value = broker.published;
      this.brokerDelivered.series().value = broker.delivered;
      for (const [reason, field] of Object.entries(BROKER_DROP_REASONS)) this.brokerDropped.series(reason).value = broker[field];
      this.brokerSessions.series().value = figures.broker.sessionCount;
      for (const [reason, count] of figures.protocolErrors) this.protocolErrors.series(reason).value = count;
      this.c2dQueued.series().value = figures.c2d.counters.queued;
      for (const [field, counter] of this.c2dCounters) counter.series().value = figures.c2d.counters[field];
      this.connections.series().value = figures.connections();
      this.native.reset();
      this.native.series(figures.nativeImplementation).value = 1;
    });
  }
}
