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
// node --test applies --test-timeout to each file as a whole, so a file that needs longer runs in
// a node --test of its own with its timeout, beside the main one (it waits more than it computes:
// the upstream cut test holds a link down for 150 s). Every other file keeps 120 s.
const DEFAULT_TIMEOUT_MS = 120_000;
const LONG_FILES = new Map([['upstream/three-level-cut.test.js', 420_000]]);
const timeoutOf = (file) => {
  for (const [suffix, ms] of LONG_FILES) if (file.endsWith(suffix)) return ms;
  return DEFAULT_TIMEOUT_MS;
};
const groups = new Map();
for (const file of files) {
  const ms = timeoutOf(file);
  if (!groups.has(ms)) groups.set(ms, []);
  groups.get(ms).push(file);
}
// A failure in TAP: a `not ok` line at some indentation, then its YAML block up to the `...` at
// the same indentation. A failed suite repeats its failed subtests' count only, so every `not ok`
// is kept, with the `# Subtest:` names above it as the path.
const failures = [];
/**
 * One node --test run. The main run (the default timeout) passes its TAP through as it comes; a
 * run of long files is printed as one block when it ends, so the two streams do not interleave.
 */
function runGroup(timeoutMs, groupFiles, live) {
  const child = spawn(
    process.execPath,
    ['--test', '--test-reporter=tap', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...groupFiles],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, env: { ...process.env, RUNTESTS_TAG: tag } },
  );
  const names = [];
  const held = [];
  let open = null;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (live) process.stdout.write(line + '\n');
    else held.push(line);
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
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      if (open) failures.push(open);
      if (!live) {
        process.stdout.write(`\n# run-tests: files run with a ${timeoutMs} ms timeout:\n`);
        for (const line of held) process.stdout.write(line + '\n');
      }
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

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

const runs = [...groups].map(([ms, groupFiles]) => runGroup(ms, groupFiles, ms === DEFAULT_TIMEOUT_MS || groups.size === 1));
Promise.all(runs).then((codes) => {
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
  process.exit(codes.find((code) => code !== 0) ?? 0);
});
