// The edge message id every inbound message gets (src/hub/message/edge-message-id.ts): a random
// version 4 UUID in the form crypto.randomUUID gives, from a pool of random bytes refilled 256 ids
// at a time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { edgeMessageId } from '../../src/hub/message/index.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('edge message id', () => {
  it('is a lowercase version 4 UUID, unique over 100,000 (many pool refills)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = edgeMessageId();
      assert.match(id, V4);
      seen.add(id);
    }
    assert.equal(seen.size, 100_000);
  });

  it('uses every hex digit in every random position, and all four variants', () => {
    // 122 random bits: over 20,000 ids, each of the 30 free hex positions takes all 16 digits
    // (a position stuck at a few values, as from a pool read at the wrong offset, would not).
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 20_000; i++) {
      const id = edgeMessageId();
      for (let c = 0; c < 36; c++) digits[c]!.add(id[c]!);
    }
    for (let c = 0; c < 36; c++) {
      if ([8, 13, 18, 23].includes(c)) assert.deepEqual([...digits[c]!], ['-']);
      else if (c === 14) assert.deepEqual([...digits[c]!], ['4']);
      else if (c === 19) assert.deepEqual([...digits[c]!].sort(), ['8', '9', 'a', 'b']);
      else assert.equal(digits[c]!.size, 16, `position ${c}: ${[...digits[c]!].sort().join('')}`);
    }
  });
});
