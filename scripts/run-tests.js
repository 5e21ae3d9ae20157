#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.js [substring ...]   — only files whose path contains a substring.
//
// The TAP output is passed through as it comes. The failures are also collected and printed
// again at the very end: CI keeps only the tail of a long log, and a failure buried in the middle
// of 1,500 tests' output could not be found there.
//
// A test file that times out is killed without its teardown, and the hubs it started would run
// on (one was found still running 44 minutes later). Every process started under this run
// inherits RUNTESTS_TAG (test/helpers' childEnv keeps it: it only drops OUTPOST_* variables); at
// the end, the processes that still carry it are killed and counted.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
const tag = randomUUID();
const child = spawn(
  process.execPath,
  ['--test', '--test-reporter=tap', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files],
  { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, env: { ...process.env, RUNTESTS_TAG: tag } },
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
/** Kills the processes left running by this run's tests; returns their command lines. */
function killLeftovers() {
  const marker = `RUNTESTS_TAG=${tag}`;
  const killed = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      process.kill(pid, 'SIGKILL');
      killed.push(`${pid} ${command.slice(0, 160)}`);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return killed;
}

child.on('close', (code, signal) => {
  if (open) failures.push(open);
  const leftovers = killLeftovers();
  if (leftovers.length > 0) {
    process.stdout.write(`\n# run-tests: ${leftovers.length} process(es) left running by the tests were killed:\n`);
    for (const line of leftovers) process.stdout.write(`#   ${line}\n`);
  }
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
