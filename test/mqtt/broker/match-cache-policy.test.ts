/**
 * When the match cache steps aside (src/hub/broker/match-cache-policy.ts): a fill that does not pay
 * doubles the next bypass up to its cap, and one that pays goes back to caching with the first
 * bypass length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeFullCache, MATCH_CACHE_BYPASS, MATCH_CACHE_BYPASS_MAX, MATCH_CACHE_LIMIT } from '../../../src/hub/broker/match-cache-policy.js';

describe('match cache policy', () => {
  it('bypasses longer after each fill that does not pay, up to the cap', () => {
    let next = MATCH_CACHE_BYPASS;
    const bypasses: number[] = [];
    for (let fill = 0; fill < 10; fill++) {
      const judged = judgeFullCache(MATCH_CACHE_LIMIT - 1, MATCH_CACHE_LIMIT, next);
      bypasses.push(judged.bypass);
      next = judged.nextBypass;
    }
    assert.deepEqual(bypasses, [200_000, 400_000, 800_000, 1_600_000, 3_200_000, 6_400_000, 12_800_000, 12_800_000, 12_800_000, 12_800_000]);
    assert.equal(MATCH_CACHE_BYPASS_MAX, 12_800_000);
  });

  it('keeps caching after a fill that pays, and the next bypass starts short again', () => {
    const judged = judgeFullCache(MATCH_CACHE_LIMIT, MATCH_CACHE_LIMIT, MATCH_CACHE_BYPASS_MAX);
    assert.deepEqual(judged, { bypass: 0, nextBypass: MATCH_CACHE_BYPASS });
    assert.equal(judgeFullCache(0, MATCH_CACHE_LIMIT, judged.nextBypass).bypass, MATCH_CACHE_BYPASS);
  });
});
