/**
 * How many entries a page read asks rocksdb-native for per trip to its thread: many small entries
 * at once (a page of 2,048 in 8-entry trips took 40-55 ms and starved an upstream drain), but
 * never a trip of many large entries, which is fetched whole before the page's byte bound is
 * checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCAN_CAPACITY } from '../../src/hub/rocks-key.js';
import { tripCapacity } from '../../src/hub/store/rocks-shard-log.js';

const MIB = 1024 * 1024;

describe('tripCapacity', () => {
  it('fetches a page of small entries in few trips, never more than the page asks for', () => {
    assert.equal(tripCapacity(2048, 4 * MIB, 650), SCAN_CAPACITY);
    assert.equal(tripCapacity(100, 4 * MIB, 650), 100);
    assert.equal(tripCapacity(1, 4 * MIB, 650), 1);
  });

  it('keeps a trip of large entries near the byte bound', () => {
    // 256 KiB entries (IoT Hub's largest message), a 4 MiB page: 16 per trip, not 1,024 (256 MiB).
    assert.equal(tripCapacity(2048, 4 * MIB, 256 * 1024), 16);
    // Entries larger than the whole page: rocksdb-native's own 8, as before.
    assert.equal(tripCapacity(2048, 4 * MIB, 8 * MIB), 8);
  });

  it("uses rocksdb-native's 8 when the entries' size is not known, and the page size when bytes are not bounded", () => {
    assert.equal(tripCapacity(2048, 4 * MIB, undefined), 8);
    assert.equal(tripCapacity(2048, 4 * MIB, 0), 8);
    assert.equal(tripCapacity(500, Number.POSITIVE_INFINITY, undefined), 500);
  });
});
