import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, parseBytes, parseDurationMs } from '../../src/config/index.js';

describe('duration units', () => {
  it('parses units, combinations and .NET TimeSpan text', () => {
    const cases: [string, number][] = [
      ['250ms', 250],
      ['30s', 30_000],
      ['1.5s', 1_500],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['2d', 172_800_000],
      ['1m30s', 90_000],
      ['00:01:00', 60_000],
      ['1.02:03:04', 93_784_000],
      ['00:00:00.5', 500],
    ];
    for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
  });

  it('rejects text that is not a duration', () => {
    for (const text of ['', '30', 's', '5 minutes', '1x', '00:61:00', '-1s', '1s2']) assert.equal(parseDurationMs(text), undefined, text);
  });

  it('formats durations with the largest exact unit', () => {
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(1_500), '1500ms');
  });
});

describe('size units', () => {
  it('parses decimal and binary units', () => {
    const cases: [string, number][] = [
      ['512', 512],
      ['512B', 512],
      ['256KiB', 262_144],
      ['1MiB', 1_048_576],
      ['100KB', 100_000],
      ['1.5GiB', 1_610_612_736],
      ['2 MB', 2_000_000],
    ];
    for (const [text, bytes] of cases) assert.equal(parseBytes(text), bytes, text);
  });

  it('rejects text that is not a size', () => {
    for (const text of ['', 'KiB', '1 kib', '-1', '1QB']) assert.equal(parseBytes(text), undefined, text);
  });

  it('formats sizes with the largest exact binary unit', () => {
    assert.equal(formatBytes(262_144), '256KiB');
    assert.equal(formatBytes(1000), '1000B');
  });
});
