import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { logFileStream, rotateLog, tailOffset } from '../../src/agent/runtime/process/log-file.js';
import { removeDir, tempDir } from './agent-harness.js';

function withFile(content: string, body: (path: string) => Promise<void> | void): Promise<void> {
  const dir = tempDir('outpost-logfile-');
  const path = join(dir, 'm.log');
  writeFileSync(path, content);
  return Promise.resolve(body(path)).finally(() => removeDir(dir));
}

describe('a process module log file', () => {
  it('finds where the last N lines start, with and without a final newline', () =>
    withFile('a\nbb\nccc\n', (path) => {
      const size = readFileSync(path).length;
      assert.equal(tailOffset(path, size, 1), 5);
      assert.equal(tailOffset(path, size, 2), 2);
      assert.equal(tailOffset(path, size, 3), 0);
      assert.equal(tailOffset(path, size, 10), 0);
      assert.equal(tailOffset(path, size, 0), size);
      appendFileSync(path, 'dd');
      assert.equal(tailOffset(path, size + 2, 1), 9, 'a last line without a newline counts as a line');
    }));

  it('reads the last N lines and nothing a module writes meanwhile (without follow)', async () => {
    await withFile('', async (path) => {
      // A writer appending as fast as a shell can while --tail reads: each read must hold exactly
      // the N lines asked for, however many lines land between finding the offset and reading.
      const writer = spawn('/bin/sh', ['-c', `i=0; while :; do echo "line $i"; i=$((i+1)); done >> '${path}'`], { stdio: 'ignore' });
      try {
        while (!existsSync(path) || readFileSync(path).length < 1_000) await new Promise((r) => setTimeout(r, 5));
        const deadline = Date.now() + 1_500;
        let reads = 0;
        while (Date.now() < deadline) {
          const out = await text(logFileStream(path, { tail: 2 }));
          // The shell may have written half a line when the size is taken; like tail(1), that
          // unfinished line is the last one and is printed as far as it goes.
          assert.match(out, /^line \d+\n[^\n]+\n?$/, `read ${reads}: ${JSON.stringify(out.slice(0, 200))}`);
          reads++;
        }
        assert.ok(reads > 50, `only ${reads} reads`);
      } finally {
        writer.kill('SIGKILL');
      }
    });
  });

  it('with follow, streams what is appended after the tail, then ends on abort', async () => {
    await withFile('old 1\nold 2\n', async (path) => {
      const abort = new AbortController();
      const stream = logFileStream(path, { tail: 1, follow: true, signal: abort.signal });
      const chunks: string[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c.toString()));
      const ended = new Promise((r) => stream.on('end', r));
      appendFileSync(path, 'new 3\n');
      const deadline = Date.now() + 5_000;
      while (!chunks.join('').includes('new 3') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      abort.abort();
      await ended;
      assert.equal(chunks.join(''), 'old 2\nnew 3\n');
    });
  });

  it('rotates by copy and truncate once past the size, and a follower starts over on the new file', async () => {
    await withFile('x'.repeat(100) + '\n', async (path) => {
      assert.equal(rotateLog(path, 1_000), false);
      assert.equal(rotateLog(path, 50), true);
      assert.equal(readFileSync(`${path}.1`, 'utf8'), 'x'.repeat(100) + '\n');
      assert.equal(readFileSync(path).length, 0);
      appendFileSync(path, 'after\n');
      assert.equal(await text(logFileStream(path, {})), 'after\n');
    });
  });
});
