/**
 * The store's contract, run against both backends (RocksDB and memory): the same shard workers,
 * routing, queues, windows, TTL and limits, whatever holds the queues.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import type { MessageStore } from '../../src/hub/store/index.js';
import { basicRoutes, INPUT_A, INPUT_B, message, numberOf, openStore, priorityOrder, priorityRoutes, RecordingTarget, submitPriorityMix, type Backend } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };

export function storeContract(backend: Backend): void {
  describe(`message store contract (${backend})`, () => {
    const dirs: { remove(): void }[] = [];
    const stores: MessageStore[] = [];
    after(async () => {
      for (const store of stores) await store.close();
      for (const dir of dirs) dir.remove();
    });
    async function open(routes = basicRoutes(), overrides: Parameters<typeof openStore>[3] = {}): Promise<{ store: MessageStore; target: RecordingTarget }> {
      const dir = tempDir('outpost-store-');
      dirs.push(dir);
      const store = await openStore(backend, dir.path, routes, overrides);
      stores.push(store);
      const target = new RecordingTarget();
      store.attach(target);
      return { store, target };
    }

    it('routes each message to its endpoints and delivers them in order per source', async () => {
      const { store, target } = await open();
      const sends: Promise<void>[] = [];
      for (let n = 0; n < 2000; n++) {
        sends.push(store.submit(message(sensor, n)));
        sends.push(store.submit(message({ device: `dev${n % 7}` }, n)));
      }
      await Promise.all(sends);
      await target.until(() => store.metrics.delivered >= 4000);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 2000 }, (_, n) => n));
      for (let d = 0; d < 7; d++) {
        const order = target.firstDeliveries(INPUT_B, `dev${d}`);
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `device dev${d} in order`);
        assert.equal(order.length, Math.ceil((2000 - d) / 7));
      }
      assert.equal(target.deliveries.length, 4000, 'no duplicates without failures');
      assert.equal(store.metrics.accepted, 4000);
      assert.equal(store.metrics.delivered, 4000);
    });

    it('keeps a window of messages in flight, not one at a time, and never more than the window', async () => {
      const { store, target } = await open(basicRoutes(), { deliveryWindow: 16 });
      target.manual = () => true;
      await Promise.all(Array.from({ length: 100 }, (_, n) => store.submit(message(sensor, n))));
      await target.until(() => target.unsettled.size === 16, 10_000, '16 in flight');
      assert.equal(target.deliveries.length, 16, 'exactly the window went out');
      // Each acknowledgement lets exactly one more go.
      for (const delivery of [...target.unsettled].slice(0, 5)) delivery.settle('acked');
      await target.until(() => target.deliveries.length === 21, 10_000, 'five more');
      assert.equal(target.unsettled.size, 16);
      target.manual = () => false;
      for (const delivery of [...target.unsettled]) delivery.settle('acked');
      await target.until(() => store.metrics.delivered === 100);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 100 }, (_, n) => n));
    });

    it('sends lost messages again, in order, after the ones that were acknowledged', async () => {
      const { store, target } = await open();
      target.manual = () => true;
      await Promise.all(Array.from({ length: 10 }, (_, n) => store.submit(message(sensor, n))));
      await target.until(() => target.unsettled.size === 10);
      const first = [...target.unsettled];
      for (const delivery of first.slice(0, 3)) delivery.settle('acked');
      // The module's connection drops: the session hands back everything unacknowledged.
      target.manual = () => false;
      for (const delivery of first.slice(3)) delivery.settle('lost');
      await target.until(() => store.metrics.delivered === 10);
      const numbers = target.to(INPUT_A).map((d) => numberOf(d.message));
      assert.deepEqual(numbers, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(store.metrics.redelivered, 7);
    });

    it('gives up on unacknowledged messages after ackTimeout and sends them again', async () => {
      const { store, target } = await open(basicRoutes(), { ackTimeoutMs: 200 });
      let silent = true;
      target.manual = () => silent;
      await Promise.all(Array.from({ length: 5 }, (_, n) => store.submit(message(sensor, n))));
      await target.until(() => target.deliveries.length === 5);
      silent = false;
      await target.until(() => store.metrics.delivered === 5, 10_000, 'redelivery after the timeout');
      assert.equal(store.metrics.ackTimeouts, 5);
      assert.deepEqual(target.to(INPUT_A).map((d) => numberOf(d.message)), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
      // The late acknowledgements of the first attempt change nothing.
      for (const delivery of [...target.unsettled]) delivery.settle('acked');
      assert.equal(store.metrics.delivered, 5);
    });

    it('holds messages for an endpoint that is not connected and delivers them when it is', async () => {
      const { store, target } = await open();
      let connected = false;
      target.available = () => connected;
      await Promise.all(Array.from({ length: 300 }, (_, n) => store.submit(message(sensor, n))));
      assert.equal(target.deliveries.length, 0);
      connected = true;
      await target.until(() => store.metrics.delivered === 300);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 300 }, (_, n) => n));
      assert.equal(target.deliveries.length, 300);
    });

    it('delivers a backlog larger than the read-ahead from stored pages, in order per source', async () => {
      const { store, target } = await open(basicRoutes(), { readAhead: 64 });
      let connected = false;
      target.available = () => connected;
      const sends: Promise<void>[] = [];
      for (let n = 0; n < 3000; n++) {
        sends.push(store.submit(message(sensor, n)));
        sends.push(store.submit(message({ device: `dev${n % 3}` }, n)));
      }
      await Promise.all(sends);
      connected = true;
      await target.until(() => store.metrics.delivered === 6000);
      assert.deepEqual(target.firstDeliveries(INPUT_A), Array.from({ length: 3000 }, (_, n) => n));
      for (let d = 0; d < 3; d++) {
        const order = target.firstDeliveries(INPUT_B, `dev${d}`);
        assert.equal(order.length, 1000);
        assert.deepEqual(order, [...order].sort((a, b) => a - b));
      }
      assert.equal(target.deliveries.length, 6000);
      const delivered = target.to(INPUT_A)[1234]!.message;
      assert.equal(delivered.properties.from, 'sensor', 'properties survive the round trip through the store');
      assert.equal(delivered.systemProperties.connectionModuleId, 'sensor');
      assert.equal(delivered.source, '/messages/modules/sensor/outputs/out/');
    });

    it('never lets a dead endpoint slow another one', async () => {
      const { store, target } = await open();
      target.available = (endpoint) => endpoint.id !== INPUT_A;
      const started = Date.now();
      const sends: Promise<void>[] = [];
      for (let n = 0; n < 3000; n++) {
        sends.push(store.submit(message(sensor, n)));
        sends.push(store.submit(message({ device: 'dev1' }, n)));
      }
      await Promise.all(sends);
      await target.until(() => store.metrics.delivered === 3000, 10_000, 'the live endpoint to drain');
      assert.equal(target.to(INPUT_A).length, 0);
      assert.deepEqual(target.firstDeliveries(INPUT_B), Array.from({ length: 3000 }, (_, n) => n));
      const stats = await store.stats();
      assert.equal(stats.endpoints.find((e) => e.endpoint === INPUT_A)?.queued, 3000, 'the dead endpoint keeps its queue');
      assert.equal(stats.endpoints.find((e) => e.endpoint === INPUT_B)?.queued ?? 0, 0);
      assert.ok(Date.now() - started < 10_000);
    });

    it('never delivers an expired message: deployment TTL and per-route TTL', async () => {
      const routes = basicRoutes({ short: { route: 'FROM /messages/modules/sensor/outputs/short INTO BrokeredEndpoint("/modules/other/inputs/b")', timeToLiveSecs: 1 } }, 60);
      const { store, target } = await open(routes);
      const now = Date.now();
      // Enqueued 61 s ago: past the deployment's 60 s. 2 s ago: past the short route's 1 s only.
      await store.submit(message(sensor, 1, { enqueuedAtMs: now - 61_000 }));
      await store.submit(message(sensor, 2, { enqueuedAtMs: now - 2_000 }));
      await store.submit(message({ ...sensor, output: 'short' }, 3, { enqueuedAtMs: now - 2_000 }));
      await store.submit(message({ ...sensor, output: 'short' }, 4));
      await target.until(() => store.metrics.delivered === 2 && store.metrics.expired === 2);
      assert.deepEqual(target.firstDeliveries(INPUT_A), [2]);
      assert.deepEqual(target.firstDeliveries(INPUT_B), [4]);
    });

    it('expires and reclaims messages of an endpoint that never connects, and of a removed route', async () => {
      const { store, target } = await open(basicRoutes({}, 1));
      target.available = () => false;
      const old = Date.now() - 500;
      await Promise.all(Array.from({ length: 500 }, (_, n) => store.submit(message(sensor, n, { enqueuedAtMs: old, bodyBytes: 200 }))));
      // The route goes away; its endpoint's queue must still empty by TTL (Azure #7509).
      await store.replaceRoutes({ routes: { toB: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/other/inputs/b")' }, timeToLiveSecs: 1 });
      await store.submit(message(sensor, 999));
      let stats = await store.stats();
      assert.equal(stats.endpoints.find((e) => e.endpoint === INPUT_A)?.queued, 500, 'the removed route routes nothing new');
      assert.ok(stats.totals.bytes > 500 * 200);
      await target.until(() => Date.now() > old + 1_100, 5_000, 'the TTL to pass');
      await store.expireNow();
      stats = await store.stats();
      assert.equal(stats.totals.queued, 0);
      assert.equal(stats.totals.bytes, 0);
      assert.equal(store.metrics.expired, 500);
      target.available = () => true;
      assert.equal(target.deliveries.length, 0);
    });

    it('refuses new messages when store.maxSize is reached, and accepts them again once delivered', async () => {
      const { store, target } = await open(basicRoutes(), { maxSizeBytes: 64 * 1024 });
      target.available = () => false;
      let refused: unknown;
      let accepted = 0;
      for (let n = 0; n < 1000 && refused === undefined; n++) {
        await store.submit(message(sensor, n, { bodyBytes: 1000 })).then(
          () => accepted++,
          (error: unknown) => (refused = error),
        );
      }
      assert.ok(refused !== undefined, 'a message was refused');
      assert.equal((refused as { code?: string }).code, 'OUTPOST_STORE_FULL');
      assert.ok(accepted >= 50 && accepted < 70, `about 64 KiB accepted (${accepted})`);
      assert.equal(store.metrics.refusedStoreFull, 1);
      target.available = () => true;
      await target.until(() => store.metrics.delivered === accepted);
      // Acknowledged messages leave the count with their checkpoint (stats writes it at once).
      assert.equal((await store.stats()).totals.queued, 0);
      await store.submit(message(sensor, 5000, { bodyBytes: 1000 }));
      assert.deepEqual(target.firstDeliveries(INPUT_A).slice(0, accepted), Array.from({ length: accepted }, (_, n) => n), 'nothing accepted was lost');
    });

    it('drops the oldest messages at store.maxSize with fullPolicy dropOldest, and counts them', async () => {
      const { store, target } = await open(basicRoutes(), { maxSizeBytes: 64 * 1024, fullPolicy: 'dropOldest' });
      target.available = () => false;
      for (let n = 0; n < 300; n++) await store.submit(message(sensor, n, { bodyBytes: 1000 }));
      await target.until(() => store.metrics.dropped > 0, 5_000, 'a drop');
      const stats = await store.stats();
      assert.ok(stats.totals.bytes <= 64 * 1024 + 8 * 1100, `back under the limit (${stats.totals.bytes})`);
      target.available = () => true;
      await target.until(() => store.metrics.delivered + store.metrics.dropped === 300);
      const delivered = target.firstDeliveries(INPUT_A);
      assert.equal(delivered.at(-1), 299, 'the newest survive');
      assert.deepEqual(delivered, [...delivered].sort((a, b) => a - b));
      assert.ok(delivered[0]! > 0, 'the oldest went');
    });

    it('removes a message that can never be delivered and keeps the queue moving', async () => {
      const { store, target } = await open();
      target.manual = (endpoint) => endpoint.id === INPUT_A;
      await Promise.all(Array.from({ length: 3 }, (_, n) => store.submit(message(sensor, n))));
      await target.until(() => target.unsettled.size === 3);
      const [a, b, c] = [...target.unsettled];
      b!.settle('rejected');
      a!.settle('acked');
      c!.settle('acked');
      await target.until(() => store.metrics.delivered === 2 && store.metrics.undeliverable === 1);
      const stats = await store.stats();
      assert.equal(stats.totals.queued, 0);
    });

    it('delivers a message once to an endpoint several routes chose', async () => {
      const routes = basicRoutes({ again: 'FROM /messages/* WHERE from = \'sensor\' INTO BrokeredEndpoint("/modules/filter/inputs/a")' });
      const { store, target } = await open(routes);
      await store.submit(message(sensor, 7));
      await target.until(() => store.metrics.delivered === 1);
      assert.equal(target.deliveries.length, 1);
    });

    it('reports queue length, bytes and oldest age per endpoint', async () => {
      const { store, target } = await open();
      target.available = () => false;
      await store.submit(message(sensor, 1, { enqueuedAtMs: Date.now() - 5_000 }));
      await store.submit(message(sensor, 2));
      await store.submit(message({ device: 'd' }, 3));
      const stats = await store.stats();
      const a = stats.endpoints.find((e) => e.endpoint === INPUT_A)!;
      assert.equal(a.queued, 2);
      assert.ok(a.bytes > 0);
      assert.ok(a.oldestAgeMs! >= 5_000 && a.oldestAgeMs! < 60_000);
      assert.equal(stats.endpoints.find((e) => e.endpoint === INPUT_B)?.queued, 1);
      assert.equal(stats.totals.queued, 3);
      assert.equal(stats.shards.length, 2);
      assert.equal(stats.persistent, backend === 'rocksdb');
    });

    it('delivers a backlog highest route priority first, each priority in its own order', async () => {
      const { store, target } = await open(priorityRoutes());
      let connected = false;
      target.available = () => connected;
      await submitPriorityMix(store, 300);
      const queued = (await store.stats()).endpoints.find((e) => e.endpoint === INPUT_A);
      assert.equal(queued?.queued, 900);
      assert.deepEqual(queued?.priorities, [
        { priority: 0, queued: 300 },
        { priority: 5, queued: 300 },
        { priority: 'default', queued: 300 },
      ]);
      connected = true;
      await target.until(() => store.metrics.delivered === 900);
      assert.deepEqual(target.firstDeliveries(INPUT_A), priorityOrder(300));
      assert.equal(target.deliveries.length, 900);
      assert.equal((await store.stats()).endpoints.find((e) => e.endpoint === INPUT_A)?.queued ?? 0, 0);
    });

    it('sends a new higher-priority message before the rest of a lower-priority backlog', async () => {
      const { store, target } = await open(priorityRoutes(), { deliveryWindow: 4 });
      target.manual = () => true;
      await Promise.all(Array.from({ length: 50 }, (_, n) => store.submit(message({ device: 'edge', module: 'sensor', output: 'bulk' }, n))));
      await target.until(() => target.unsettled.size === 4, 10_000, 'the window full of bulk');
      await store.submit(message({ device: 'edge', module: 'sensor', output: 'alerts' }, 20_000));
      // The next free slot goes to the alert, not to bulk message 4.
      [...target.unsettled][0]!.settle('acked');
      await target.until(() => target.deliveries.length === 5, 10_000, 'one more delivery');
      assert.equal(numberOf(target.deliveries[4]!.message), 20_000);
      target.manual = () => false;
      for (const delivery of [...target.unsettled]) delivery.settle('acked');
      await target.until(() => store.metrics.delivered === 51);
    });

    it('counts messages no route chose, and still accepts them', async () => {
      const { store } = await open();
      await store.submit(message({ device: 'edge', module: 'lonely', output: 'x' }, 1));
      assert.equal(store.metrics.noRoute, 1);
      assert.equal(store.metrics.accepted, 1);
    });
  });
}
