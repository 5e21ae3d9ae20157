// idle-floor in small (2 s settles): a real Outpost hub, bare Node and a Node process with
// Outpost's code loaded, each read from /proc. The readings must split as /proc splits them and
// name RocksDB's library only where it is loaded; the smaps parser is tested on its own text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOne } from '../../bench/lib/harness.js';
import { findScenario } from '../../bench/scenarios/index.js';
import { residentByPath } from '../../bench/scenarios/idle-floor.js';
import { assertValidResult } from './result-file.js';

const MIB = 1024 * 1024;

describe('idle-floor', { timeout: 120_000 }, () => {
  it('reads the hub, bare Node and Outpost\'s code loaded, each split into anonymous and file-backed pages', async () => {
    const r = await runOne(findScenario('idle-floor')!, 'outpost', { quick: true, loadgen: 'c', seed: 3 }, {});
    assert.equal(r.status, 'ok', r.error);
    assert.deepEqual(r.warnings, []);
    const m = (name: string): number => {
      const value = r.metrics[name];
      assert.ok(typeof value === 'number' && Number.isFinite(value), `${name}: ${String(value)}`);
      return value;
    };
    for (const who of ['hub', 'codeLoaded', 'bareNode']) {
      const rss = m(`${who}RssBytes`);
      // VmRSS is RssAnon + RssFile + RssShmem; a Node process maps next to no shared memory.
      assert.ok(Math.abs(rss - m(`${who}AnonBytes`) - m(`${who}FileBytes`)) < MIB, `${who}: anonymous and file-backed add up to the RSS`);
      assert.ok(m(`${who}NodeExecutableBytes`) > 10 * MIB && m(`${who}NodeExecutableBytes`) <= m(`${who}FileBytes`), `${who}: the node executable's pages`);
    }
    assert.equal(m('bareNodeRocksdbLibraryBytes'), 0);
    assert.ok(m('codeLoadedRocksdbLibraryBytes') > MIB && m('hubRocksdbLibraryBytes') > MIB, 'RocksDB\'s library is mapped where Outpost\'s code is loaded');
    assert.ok(m('codeLoadedRssBytes') > m('bareNodeRssBytes'), 'loading the code costs memory');
    assert.equal(m('codeLoadedAboveBareNodeBytes'), m('codeLoadedRssBytes') - m('bareNodeRssBytes'));
    assert.equal(m('hubAboveCodeLoadedBytes'), m('hubRssBytes') - m('codeLoadedRssBytes'));
    assert.equal(r.throughput.value, m('hubRssBytes'));
    assertValidResult(r);
  });

  it('sums resident kilobytes by mapped path, leaving anonymous mappings out', () => {
    const smaps = [
      '00400000-00500000 r-xp 00000000 08:01 123    /usr/bin/node',
      'Size:               1024 kB',
      'Rss:                 100 kB',
      '00500000-00600000 r--p 00100000 08:01 123    /usr/bin/node',
      'Rss:                  20 kB',
      '7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ',
      'Rss:                 500 kB',
      '7f0000100000-7f0000200000 r-xp 00000000 08:01 456    /opt/x/rocksdb-native.node',
      'Rss:                   8 kB',
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]',
      'Rss:                  12 kB',
      '',
    ].join('\n');
    assert.deepEqual([...residentByPath(smaps)], [
      ['/usr/bin/node', 120 * 1024],
      ['/opt/x/rocksdb-native.node', 8 * 1024],
    ]);
  });
});
