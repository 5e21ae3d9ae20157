/**
 * `outpost c2d` without a running hub: usage errors are found before the hub is asked (exit 2),
 * and a valid send with no hub says so (exit 1, OUTPOST_HUB_NOT_RUNNING); `--help` has examples.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-c2d-cli-');
after(() => dir.remove());
const dataDir = join(dir.path, 'data');
// Five processes at once on a loaded machine: a generous bound, not a timing assumption.
const slow = { timeoutMs: 90_000 };

describe('outpost c2d without a hub', () => {
  it('refuses bad usage with exit 2, reports a missing hub with exit 1, and shows examples in --help', async () => {
    // In parallel: each CLI process costs seconds on a loaded machine.
    const [both, ttl, property, noHub, help] = await Promise.all([
      runOutpost(['c2d', 'send', 'dev1', '--body', 'x', '--file', 'f', '--data-dir', dataDir], slow),
      runOutpost(['c2d', 'send', 'dev1', '--body', 'x', '--ttl', '1.5s', '--data-dir', dataDir], slow),
      runOutpost(['c2d', 'send', 'dev1', '--body', 'x', '--property', 'novalue', '--data-dir', dataDir], slow),
      runOutpost(['c2d', 'send', 'dev1', '--body', 'x', '--ttl', '10m', '--data-dir', dataDir], slow),
      runOutpost(['c2d', 'send', '--help'], slow),
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exactly one of --body <text> or --file <file>/);
    assert.equal(ttl.code, 2);
    assert.match(ttl.stderr, /--ttl "1.5s" is not a whole number of seconds/);
    assert.equal(property.code, 2);
    assert.match(property.stderr, /--property "novalue" is not key=value/);
    assert.equal(noHub.code, 1);
    assert.match(noHub.stderr, /OUTPOST_HUB_NOT_RUNNING/);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n {2}outpost c2d send dev1/);
  });
});
