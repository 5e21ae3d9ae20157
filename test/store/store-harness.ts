/**
 * Helpers for the store tests: a real MessageStore (real shard workers, real RocksDB or the
 * in-memory backend) with a recording endpoint target that acknowledges like a module would.
 */
import { createLogger, type Logger } from '../../src/log/index.js';
import type { DeliveryOutcome, EndpointTarget } from '../../src/hub/endpoints/index.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import type { RouteEndpoint } from '../../src/hub/routing/index.js';
import { MessageStore, STORE_TUNING, type StoreOptions, type StoreRoutes } from '../../src/hub/store/index.js';

export type Backend = 'rocksdb' | 'memory';

export function testLogger(): Logger {
  return createLogger({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });
}

export function storeOptions(backend: Backend, dir: string, overrides: Partial<StoreOptions> = {}): StoreOptions {
  return {
    persistent: backend === 'rocksdb',
    dir,
    shards: 2,
    memtableBytes: 1024 * 1024,
    sync: 'none',
    syncIntervalMs: 1000,
    maxSizeBytes: 1024 * 1024 * 1024,
    fullPolicy: 'refuse',
    minFreeDiskBytes: 0,
    defaultTtlSec: 7200,
    deliveryWindow: 64,
    ackTimeoutMs: 30_000,
    retryMinMs: 10,
    retryMaxMs: 100,
    cleanupIntervalMs: 60_000,
    reclaimIntervalMs: 0,
    // As a hub runs (store.shardIdleStop): a new store's shards start with their first message.
    shardIdleStopMs: 30_000,
    ...STORE_TUNING,
    ...overrides,
  };
}

export function openStore(backend: Backend, dir: string, routes: StoreRoutes, overrides: Partial<StoreOptions> = {}): Promise<MessageStore> {
  return MessageStore.open(storeOptions(backend, dir, overrides), routes, testLogger());
}

/** A numbered message from a device or module, as the MQTT adapter would build it. */
export function message(source: { device: string; module?: string; output?: string }, n: number, extra: { properties?: Record<string, string>; bodyBytes?: number; enqueuedAtMs?: number } = {}): HubMessage {
  const body = Buffer.alloc(Math.max(8, extra.bodyBytes ?? 8));
  body.write(JSON.stringify(n).padEnd(8, ' '), 0, 'utf8');
  const systemProperties: Record<string, string> = { connectionDeviceId: source.device, contentType: 'application/json', contentEncoding: 'utf-8' };
  if (source.module !== undefined) systemProperties.connectionModuleId = source.module;
  const path = source.module === undefined ? '/messages/' : source.output === undefined ? `/messages/modules/${source.module}/` : `/messages/modules/${source.module}/outputs/${source.output}/`;
  return { source: path, body, properties: { n: String(n), from: source.module ?? source.device, ...extra.properties }, systemProperties, enqueuedAtMs: extra.enqueuedAtMs ?? Date.now() };
}

export function numberOf(message: HubMessage): number {
  return Number(message.properties.n);
}

export interface Delivery {
  readonly endpoint: string;
  readonly message: HubMessage;
  settle(outcome: DeliveryOutcome): void;
}

/**
 * Records every delivery. By default it acknowledges on the next tick (like a module's PUBACK);
 * `manual` leaves outcomes to the test; `available` false makes deliver() refuse (not connected).
 */
export class RecordingTarget implements EndpointTarget {
  readonly deliveries: Delivery[] = [];
  readonly unsettled = new Set<Delivery>();
  available: (endpoint: RouteEndpoint) => boolean = () => true;
  manual: (endpoint: RouteEndpoint) => boolean = () => false;
  private waiters: (() => void)[] = [];

  deliver(endpoint: RouteEndpoint, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean | 'sourceUnavailable' {
    if (!this.available(endpoint)) return false;
    let settled = false;
    const delivery: Delivery = {
      endpoint: endpoint.id,
      message,
      settle: (outcome) => {
        if (settled) throw new Error('settled twice');
        settled = true;
        this.unsettled.delete(delivery);
        onSettled(outcome);
      },
    };
    this.deliveries.push(delivery);
    if (this.manual(endpoint)) this.unsettled.add(delivery);
    else setImmediate(() => delivery.settle('acked'));
    for (const wake of this.waiters.splice(0)) wake();
    return true;
  }

  to(endpointId: string): Delivery[] {
    return this.deliveries.filter((d) => d.endpoint === endpointId);
  }

  /** Distinct message numbers delivered to an endpoint, in first-delivery order. */
  firstDeliveries(endpointId: string, from?: string): number[] {
    const seen = new Set<number>();
    const order: number[] = [];
    for (const d of this.to(endpointId)) {
      if (from !== undefined && d.message.properties.from !== from) continue;
      const n = numberOf(d.message);
      if (!seen.has(n)) {
        seen.add(n);
        order.push(n);
      }
    }
    return order;
  }

  /** Resolves once the predicate holds, re-checked on every delivery; rejects after the deadline. */
  async until(predicate: () => boolean, timeoutMs = 10_000, what = 'deliveries'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what} (${this.deliveries.length} deliveries so far)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export const INPUT_A = '/modules/filter/inputs/a';
export const INPUT_B = '/modules/other/inputs/b';

/** Routes used by most tests: sensor output → filter input a; device telemetry → other input b. */
export function basicRoutes(extra: Record<string, unknown> = {}, timeToLiveSecs?: number): StoreRoutes {
  return {
    routes: {
      toA: 'FROM /messages/modules/sensor/outputs/out INTO BrokeredEndpoint("/modules/filter/inputs/a")',
      toB: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/other/inputs/b")',
      ...extra,
    },
    ...(timeToLiveSecs === undefined ? {} : { timeToLiveSecs }),
  };
}

/**
 * Three routes from the sensor module to input a at three priorities (schema 1.1 route objects):
 * output `alerts` at 0 (the highest), `out` at 5, `bulk` at the default (below every number).
 */
export function priorityRoutes(): StoreRoutes {
  const into = 'INTO BrokeredEndpoint("/modules/filter/inputs/a")';
  return {
    schemaVersion: '1.1',
    routes: {
      alerts: { route: `FROM /messages/modules/sensor/outputs/alerts ${into}`, priority: 0 },
      normal: { route: `FROM /messages/modules/sensor/outputs/out ${into}`, priority: 5 },
      bulk: `FROM /messages/modules/sensor/outputs/bulk ${into}`,
    },
  };
}

/** `perPriority` messages on each of priorityRoutes' outputs, interleaved: bulk n, out 10000+n, alerts 20000+n. */
export async function submitPriorityMix(store: MessageStore, perPriority: number): Promise<void> {
  const sends: Promise<void>[] = [];
  for (let n = 0; n < perPriority; n++) {
    sends.push(store.submit(message({ device: 'edge', module: 'sensor', output: 'bulk' }, n)));
    sends.push(store.submit(message({ device: 'edge', module: 'sensor', output: 'out' }, 10_000 + n)));
    sends.push(store.submit(message({ device: 'edge', module: 'sensor', output: 'alerts' }, 20_000 + n)));
  }
  await Promise.all(sends);
}

/** What priorityRoutes must deliver first to last: every alert, then every `out`, then the bulk, each in order. */
export function priorityOrder(perPriority: number): number[] {
  const run = (base: number) => Array.from({ length: perPriority }, (_, n) => base + n);
  return [...run(20_000), ...run(10_000), ...run(0)];
}
