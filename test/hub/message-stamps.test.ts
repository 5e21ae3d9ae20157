// What the hub stamps on every inbound message, made cheaply: `enqueuedTime` (isoTime, the last
// second's and the last millisecond's text kept) and the routing source path (messageSource,
// the paths made so far kept, up to a bound). Each must say exactly what the plain expression does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime, messageSource } from '../../src/hub/message/index.js';
import { SOURCE_CACHE_LIMIT } from '../../src/hub/message/hub-message.js';

describe('isoTime', () => {
  it("is Date#toISOString for every millisecond of a second's boundaries, asked in order, repeated and out of order", () => {
    const base = Date.UTC(2026, 11, 5, 9, 59, 58, 0);
    const times: number[] = [];
    for (let ms = base - 5; ms < base + 2_100; ms += 1) times.push(ms, ms);
    times.push(base + 7, base - 3, base + 7, base + 999, base + 1_000, base + 999);
    for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
  });

  it('falls back to Date for what the cached form cannot say (fractions, before 1970, from year 10000), and a repeat of them too', () => {
    for (const t of [1.5, 1.5, -1, -1, 0, 253_402_300_800_000, 253_402_300_799_999, 253_402_300_799_999]) {
      assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
    }
  });
});

describe('messageSource', () => {
  it("is the path of the device's or module's output, whether made or kept", () => {
    for (let round = 0; round < 2; round++) {
      assert.equal(messageSource(undefined, undefined), '/messages/');
      assert.equal(messageSource(undefined, 'out1'), '/messages/');
      assert.equal(messageSource('filter', undefined), '/messages/modules/filter/');
      assert.equal(messageSource('filter', ''), '/messages/modules/filter/');
      assert.equal(messageSource('filter', 'out1'), '/messages/modules/filter/outputs/out1/');
      assert.equal(messageSource('other', 'out1'), '/messages/modules/other/outputs/out1/');
    }
  });

  it(`stays right past ${SOURCE_CACHE_LIMIT} different paths (a client inventing output names), kept or not`, () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < SOURCE_CACHE_LIMIT + 500; i++) {
        assert.equal(messageSource('inventor', `o${i}`), `/messages/modules/inventor/outputs/o${i}/`);
      }
    }
    assert.equal(messageSource('late', 'out'), '/messages/modules/late/outputs/out/');
  });
});
