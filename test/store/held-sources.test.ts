/**
 * A target that holds sources up one by one ($upstream: an identity whose token the parent
 * refuses) with the real store (RocksDB, real shard workers): the other sources' messages go on
 * even when the held one's fill far more than the loaded window (its read-ahead), its own are
 * kept and go, in order, once it is let through — also after the store was closed and opened
 * again meanwhile (the checkpoint never passes a message of the held source that was not sent).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DeliveryOutcome } from '../../src/hub/endpoints/index.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import type { RouteEndpoint } from '../../src/hub/routing/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import type { MessageStore } from '../../src/hub/store/index.js';
import { message, openStore, RecordingTarget } from './store-harness.js';

const UPSTREAM_ROUTES = { routes: { up: 'FROM /messages/* INTO $upstream' } };

/** Delivers each device on its own; a refused device's messages are `sourceUnavailable`. */
class PerDeviceTarget extends RecordingTarget {
  readonly refused = new Set<string>();
  override deliver(endpoint: RouteEndpoint, msg: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean | 'sourceUnavailable' {
    if (this.refused.has(msg.systemProperties.connectionDeviceId ?? '')) return 'sourceUnavailable';
    return super.deliver(endpoint, msg, onSettled);
  }
  sourceOf(_endpoint: RouteEndpoint, msg: HubMessage): string | undefined {
    return msg.systemProperties.connectionDeviceId;
  }
}

/**
 * A store with the held device refused: `held` messages of it first (more than the read-ahead),
 * then `others` of another device, which are all delivered meanwhile.
 */
async function heldAhead(name: string, held: number, others: number, overrides: { shards: number; timeToLiveSecs?: number }): Promise<{ store: MessageStore; target: PerDeviceTarget }> {
  const dir = tempDir(`outpost-held-${name}-`);
  dirs.push(dir);
  const { timeToLiveSecs, shards } = overrides;
  const store = await openStore('rocksdb', dir.path, timeToLiveSecs === undefined ? UPSTREAM_ROUTES : { ...UPSTREAM_ROUTES, timeToLiveSecs }, { shards, deliveryWindow: 8 });
  const target = new PerDeviceTarget();
  target.refused.add('held');
  store.attach(target);
  for (let n = 0; n < held; n += 500) await Promise.all(Array.from({ length: 500 }, (_, i) => store.submit(message({ device: 'held' }, n + i))));
  await Promise.all(Array.from({ length: others }, (_, n) => store.submit(message({ device: 'other' }, n))));
  await target.until(() => target.firstDeliveries('$upstream', 'other').length === others, 30_000, `the other device's ${others}`);
  return { store, target };
}

const dirs: { remove(): void }[] = [];
after(() => {
  for (const dir of dirs) dir.remove();
});

describe('sources held up one by one', () => {
  it('delivers the other sources while a held one has more messages than the loaded window, then the held one\'s in order, across a restart', async () => {
    const dir = tempDir('outpost-held-sources-');
    dirs.push(dir);
    // One shard: every source in one queue. Window 8: a read-ahead of 2,048 entries.
    const overrides = { shards: 1, deliveryWindow: 8 };
    let store = await openStore('rocksdb', dir.path, UPSTREAM_ROUTES, overrides);
    let target = new PerDeviceTarget();
    target.refused.add('held');
    store.attach(target);
    const heldCount = 5_000;
    // The held device's messages first: the head of the queue and far past the read-ahead.
    for (let n = 0; n < heldCount; n += 500) await Promise.all(Array.from({ length: 500 }, (_, i) => store.submit(message({ device: 'held' }, n + i))));
    await Promise.all(Array.from({ length: 300 }, (_, n) => store.submit(message({ device: 'other' }, n))));
    await target.until(() => target.firstDeliveries('$upstream', 'other').length === 300, 30_000, 'the other device\'s 300 messages');
    assert.deepEqual(target.firstDeliveries('$upstream', 'other'), [...Array(300).keys()]);
    assert.equal(target.firstDeliveries('$upstream', 'held').length, 0);

    // Closed and opened again while the held device is still refused: none of its messages is lost.
    await store.close();
    store = await openStore('rocksdb', dir.path, UPSTREAM_ROUTES, overrides);
    target = new PerDeviceTarget();
    target.refused.add('held');
    store.attach(target);
    await Promise.all(Array.from({ length: 50 }, (_, n) => store.submit(message({ device: 'other' }, 300 + n))));
    await target.until(() => target.firstDeliveries('$upstream', 'other').includes(349), 30_000, 'the other device\'s next 50');

    target.refused.delete('held');
    store.retryNow('$upstream');
    await target.until(() => target.firstDeliveries('$upstream', 'held').length === heldCount, 60_000, 'the held device\'s messages');
    assert.deepEqual(target.firstDeliveries('$upstream', 'held'), [...Array(heldCount).keys()], 'every one, first deliveries in order');
    await store.close();
  });

  it('sends a held source\'s parked messages before its newer ones once it may go, again in order after one is lost, with the other sources going on', async () => {
    const { store, target } = await heldAhead('release', 3_000, 200, { shards: 2 });
    const state = store.deliveryState().find((d) => d.endpoint === '$upstream')!;
    assert.ok(state.streams.some((stream) => stream.parked > 0), JSON.stringify(state));

    // Let it go; its first message read back is lost once (the link went), then it goes on.
    let lostOnce = false;
    target.manual = () => !lostOnce;
    target.refused.delete('held');
    store.retryNow('$upstream');
    await target.until(() => target.unsettled.size > 0, 10_000, 'a first delivery of the held device');
    lostOnce = true;
    for (const delivery of [...target.unsettled]) delivery.settle('lost');
    // Meanwhile both devices send more: the held one's newer messages go after its parked ones.
    await Promise.all(Array.from({ length: 500 }, (_, i) => store.submit(message({ device: 'held' }, 3_000 + i))));
    await Promise.all(Array.from({ length: 100 }, (_, n) => store.submit(message({ device: 'other' }, 200 + n))));
    await target.until(() => target.firstDeliveries('$upstream', 'held').length === 3_500 && target.firstDeliveries('$upstream', 'other').length === 300, 60_000, 'every message of both');
    assert.deepEqual(target.firstDeliveries('$upstream', 'held'), [...Array(3_500).keys()], 'first deliveries in order');
    assert.deepEqual(target.firstDeliveries('$upstream', 'other'), [...Array(300).keys()]);
    await target.until(() => store.deliveryState().every((d) => d.streams.every((stream) => stream.parked === 0 && stream.doneUpTo === stream.tail)), 10_000, 'the queues empty, nothing parked');
    await store.close();
  });

  it('lets a held source\'s parked messages expire: none is sent once it may go, and the queue empties', async () => {
    const { store, target } = await heldAhead('expiry', 3_000, 100, { shards: 1, timeToLiveSecs: 2 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    target.refused.delete('held');
    store.retryNow('$upstream');
    await target.until(() => store.deliveryState().every((d) => d.streams.every((stream) => stream.parked === 0 && stream.doneUpTo === stream.tail)), 20_000, 'the queue empty, nothing parked');
    assert.equal(target.firstDeliveries('$upstream', 'held').length, 0, 'none sent after its time to live');
    assert.ok(store.metrics.expired >= 3_000, JSON.stringify(store.metrics));
    await store.close();
  });
});
