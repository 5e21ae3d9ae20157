/** The support bundle's own ustar writer, read back by GNU tar and Python's tarfile. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { testScope } from '../helpers/outpost-process.js';
import { TarWriter } from '../../src/support/index.js';

const scope = testScope('outpost-tar-', after);

describe('TarWriter', () => {
  it('writes files (empty, block-sized, odd-sized, binary, long paths) that tar and Python extract byte for byte', () => {
    const dir = scope.newDir();
    const long = `bundle/${'deep-folder-name/'.repeat(7)}a-file-whose-path-is-longer-than-the-hundred-bytes-of-the-name-field.log`;
    assert.ok(long.length > 100);
    const files: Record<string, Buffer> = {
      'bundle/empty.txt': Buffer.alloc(0),
      'bundle/block.bin': randomBytes(512),
      'bundle/logs/odd.bin': randomBytes(1000),
      'bundle/logs/ünïcode.txt': Buffer.from('héllo\n'),
      [long]: randomBytes(3000),
    };
    const tar = new TarWriter();
    for (const [name, data] of Object.entries(files)) tar.addFile({ name, data, mode: 0o640, mtimeMs: Date.parse('2026-06-01T00:00:00Z') });
    const archive = join(dir, 'a.tar.gz');
    writeFileSync(archive, gzipSync(tar.finish()));

    const out = join(dir, 'gnu');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    for (const [name, data] of Object.entries(files)) {
      assert.deepEqual(readFileSync(join(out, name)), data, name);
      assert.equal(statSync(join(out, name)).mode & 0o777, 0o640);
      assert.equal(statSync(join(out, name)).mtimeMs, Date.parse('2026-06-01T00:00:00Z'));
    }
    const listed = execFileSync('python3', ['-c', 'import sys, tarfile\nfor m in tarfile.open(sys.argv[1]).getmembers():\n  print(m.name, m.size, m.type.decode())', archive], { encoding: 'utf8' });
    for (const [name, data] of Object.entries(files)) assert.ok(listed.includes(`${name} ${data.length} 0\n`), `${name} in ${listed}`);
    assert.match(listed, /^bundle 0 5$/m);
  });
});
