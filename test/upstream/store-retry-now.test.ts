/**
 * `MessageStore.retryNow`: the upstream link calls it when it (re)connects, so `$upstream`
 * delivery resumes at once instead of at the end of the store's backoff, however long that grew.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { EndpointTarget } from '../../src/hub/endpoints/index.js';
import { UPSTREAM } from '../../src/hub/routing/index.js';
import { until } from '../helpers/eventually.js';
import { tempDir } from '../helpers/outpost-process.js';
import { message, openStore } from '../store/store-harness.js';

describe('store.retryNow', () => {
  const dir = tempDir('outpost-retry-now-');
  after(() => dir.remove());

  it('delivers to an endpoint as soon as it is available again, not after the backoff', async () => {
    // A backoff that reaches a minute: without retryNow the message would wait that long.
    const store = await openStore('memory', dir.path, { routes: { up: 'FROM /messages/* INTO $upstream' } }, { retryMinMs: 200, retryMaxMs: 60_000 });
    try {
      let available = false;
      let attempts = 0;
      const delivered: number[] = [];
      const target: EndpointTarget = {
        deliver(endpoint, routed, onSettled) {
          attempts++;
          if (!available || endpoint.kind !== 'upstream') return false;
          delivered.push(Number(routed.properties.n));
          queueMicrotask(() => onSettled('acked'));
          return true;
        },
      };
      store.attach(target);
      await store.submit(message({ device: 'dev1' }, 1));
      // Attempts at about 0, 0.2, 0.6, 1.4 s: the next is 1.6 s later.
      await until(() => attempts >= 4, 30_000, 'four refused attempts');
      available = true;
      const startedMs = Date.now();
      store.retryNow(UPSTREAM.id);
      await until(() => delivered.length === 1, 30_000, 'the delivery');
      assert.ok(Date.now() - startedMs < 1_000, `delivered ${Date.now() - startedMs} ms after retryNow`);
    } finally {
      await store.close();
    }
  });
});
