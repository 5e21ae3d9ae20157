#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.js [substring ...]   — only files whose path contains a substring.
//
// The TAP output is passed through as it comes. The failures are also collected and printed
// again at the very end: CI keeps only the tail of a long log, and a failure buried in the middle
// of 1,500 tests' output could not be found there.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(testDir).filter(
  (file) => filters.length === 0 || filters.some((f) => relative(root, file).includes(f)),
);
if (files.length === 0) {
  process.stderr.write('run-tests: no test files matched\n');
  process.exit(1);
}
// Two cores: two files at a time keeps the suite quick without starving the hubs under test.
const concurrency = process.env.OUTPOST_TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  ['--test', '--test-reporter=tap', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files],
  { stdio: ['ignore', 'pipe', 'inherit'], cwd: root },
);

// A failure in TAP: a `not ok` line at some indentation, then its YAML block up to the `...` at
// the same indentation. A failed suite repeats its failed subtests' count only, so every `not ok`
// is kept, with the `# Subtest:` names above it as the path.
const failures = [];
const names = [];
let open = null;
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  const indent = line.length - line.trimStart().length;
  const text = line.trimStart();
  if (open) {
    if (indent === open.indent + 2 && text === '...') {
      failures.push(open);
      open = null;
    } else if (open.lines.length < 40) open.lines.push(line.slice(open.indent));
    return;
  }
  const depth = indent / 4;
  if (text.startsWith('# Subtest: ')) {
    names.length = depth;
    names[depth] = text.slice('# Subtest: '.length);
  } else if (text.startsWith('not ok ')) {
    const path = names.slice(0, depth + 1).filter(Boolean).join(' > ');
    open = { indent, lines: [`not ok: ${path}`] };
  }
});
child.on('close', (code, signal) => {
  if (open) failures.push(open);
  // A suite that failed because a subtest did is reported by the subtest; keep the leaves.
  const leaves = failures.filter(
    (f) => !failures.some((g) => g !== f && g.lines[0].startsWith(f.lines[0] + ' > ')),
  );
  if (leaves.length > 0) {
    process.stdout.write(`\n# run-tests: ${leaves.length} failed test(s), repeated here:\n`);
    for (const f of leaves) process.stdout.write(f.lines.map((l) => `#   ${l}`).join('\n') + '\n');
  }
  process.exit(code ?? (signal ? 1 : 0));
});
