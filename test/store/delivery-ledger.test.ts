/**
 * The crash tests' ledger of acknowledged and delivered messages: its O(1) completion check agrees
 * with the definition (every acknowledged number delivered at least once) whatever the order of
 * acknowledgements, deliveries and duplicates, and its shortfall report says where a source stopped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryLedger } from './delivery-ledger.js';

/** The definition, rebuilt from everything recorded (what the crash test computed before). */
function complete(ledger: DeliveryLedger): boolean {
  for (const source of ledger.sources) {
    const seen = new Set(ledger.delivered.get(source)!.map((d) => d.n));
    for (const n of ledger.acked.get(source)!) if (!seen.has(n)) return false;
  }
  return true;
}

describe('crash test delivery ledger', () => {
  it('agrees with the definition after every step of random interleavings', () => {
    let seed = 0x9e3779b9;
    const random = (below: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % below;
    };
    for (let round = 0; round < 50; round++) {
      const ledger = new DeliveryLedger(['a', 'b']);
      for (let step = 0; step < 400; step++) {
        const source = random(2) === 0 ? 'a' : 'b';
        const n = random(60);
        // Acknowledgements and deliveries in any order, each possibly repeated (at-least-once).
        if (random(2) === 0) ledger.ack(source, n);
        else ledger.deliver(source, n, 1 + random(3));
        assert.equal(ledger.allAckedDelivered(), complete(ledger), `round ${round} step ${step}`);
        assert.equal(ledger.undelivered, Object.values(ledger.shortfall()).reduce((total, s) => total + s.undelivered, 0));
      }
    }
  });

  it('reports the contiguous undelivered tail of a source', () => {
    const ledger = new DeliveryLedger(['dev-a', 'dev-c']);
    for (let n = 0; n < 10; n++) {
      ledger.ack('dev-a', n);
      ledger.ack('dev-c', n);
      ledger.deliver('dev-a', n, 2);
      if (n < 6) ledger.deliver('dev-c', n, 2);
    }
    assert.equal(ledger.allAckedDelivered(), false);
    assert.deepEqual(ledger.shortfall(), {
      'dev-c': { undelivered: 4, from: 6, to: 9, contiguousTail: true, highestDelivered: 5, highestDeliveredInGeneration: 2, acked: 10 },
    });
    ledger.deliver('dev-c', 8, 3);
    assert.equal(ledger.shortfall()['dev-c']!.contiguousTail, false);
  });
});
