/**
 * README.md and docs/*.md name files, commands and metrics; each must exist (issue 15 found
 * docs/identity.md naming certs/ca.pem, docs/errors.md a counter nobody counts, and the
 * operations page missing half the commands). Checked:
 * - repository paths in code spans (`src/…`, `docs/…`, …) and relative links: the file exists;
 * - data directory paths (`<dataDir>/…`, README's `data/…`): the file exists in the data directory
 *   of a real `outpost run` with one process module, a deploy and an identity;
 * - `outpost <command> [<subcommand>]` in code: the CLI has that command;
 * - `outpost_…_total` metric names: a counter src/metrics serves under that name.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { buildProgram } from '../../src/cli/main.js';
import { metricDefinitions } from '../../src/metrics/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, startHub, testScope } from '../helpers/outpost-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const scope = testScope('outpost-doc-refs-', after);

/** The code of a markdown text: inline code spans and fenced blocks. */
function codeOf(text: string): string[] {
  const fenced = [...text.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const prose = text.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, '');
  return [...fenced, ...[...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)];
}

function eachDoc(collect: (doc: string, text: string, code: string[]) => void): void {
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    collect(doc, text, codeOf(text));
  }
}

const REPO_PATH = /(?:^|[\s("'=])((?:src|test|docs|bench|workers|native|modules|deployment|scripts|bin)\/[A-Za-z0-9_./-]*[A-Za-z0-9_])/g;

describe('what the documentation names exists', () => {
  it('repository files and relative links', () => {
    const missing: string[] = [];
    eachDoc((doc, text, code) => {
      for (const span of code) {
        for (const match of span.matchAll(REPO_PATH)) {
          const path = match[1]!;
          // A pattern (`bench/q0/<seed>/<i>`, `conformance-*.test.ts`) names no one file; bench/results
          // is the git-ignored folder that benchmark runs write into.
          const next = span.slice(match.index + match[0].length);
          if (/^(?:\/?<|-?\*)/.test(next) || path.startsWith('bench/results')) continue;
          if (!existsSync(join(ROOT, path))) missing.push(`${doc}: ${path}`);
        }
      }
      for (const match of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(ROOT, dirname(doc), target))) missing.push(`${doc}: link ${target}`);
      }
    });
    assert.deepEqual(missing, []);
  });

  it('outpost commands', () => {
    const program = buildProgram(() => undefined);
    const commands = new Map(program.commands.map((command) => [command.name(), new Set(command.commands.map((sub) => sub.name()))]));
    const unknown: string[] = [];
    let seen = 0;
    eachDoc((doc, _text, code) => {
      for (const span of code) {
        for (const match of span.matchAll(/(?:^|[\s`])(?<!-u )outpost ([a-z][a-z0-9-]*)(?: ([a-z][a-z0-9-]*))?/g)) {
          seen++;
          const subcommands = commands.get(match[1]!);
          if (subcommands === undefined) unknown.push(`${doc}: outpost ${match[1]}`);
          else if (subcommands.size > 0 && match[2] !== undefined && !subcommands.has(match[2])) unknown.push(`${doc}: outpost ${match[1]} ${match[2]}`);
        }
      }
    });
    assert.ok(seen > 20, `only ${seen} commands found: the scan is broken`);
    assert.deepEqual(unknown, []);
    // The operations page's command table lists every command.
    const operations = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
    const listed = [...operations.matchAll(/^\| `outpost ([a-z0-9-]+)/gm)].map((m) => m[1]);
    assert.deepEqual([...commands.keys()].filter((name) => name !== 'help' && !listed.includes(name)), [], 'commands missing from the table of docs/operations.md');
  });

  it('metrics', () => {
    const known = new Set(metricDefinitions().map((d) => d.name));
    const unknown: string[] = [];
    eachDoc((doc, text) => {
      for (const match of text.matchAll(/\boutpost_[a-z_]+_total\b/g)) if (!known.has(match[0])) unknown.push(`${doc}: ${match[0]}`);
    });
    assert.deepEqual(unknown, []);
  });

  it('files in the data directory', async () => {
    const dir = scope.newDir();
    const data = join(dir, 'data');
    const manifest = join(dir, 'deployment.json');
    const withModule = JSON.parse(hubManifest({})) as { modulesContent: { $edgeAgent: { 'properties.desired': { modules: Record<string, unknown> } } } };
    withModule.modulesContent.$edgeAgent['properties.desired'].modules.m = { version: '1.0', type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command: '/bin/sh', args: ['-c', 'echo up; exec sleep 600'] } } };
    writeFileSync(manifest, JSON.stringify(withModule));
    const { outpost } = await startHub({ command: 'run', dataDir: data, args: ['--deployment', manifest], timeoutMs: 60_000 });
    scope.trackGraceful(outpost);
    await outpost.waitFor((line) => line.event === 'agent.module_started' && line.module === 'm', 60_000);
    for (const args of [['deploy', manifest], ['identity', 'add', 'd1'], ['api', 'token']]) {
      const result = await runOutpost([...args, '--data-dir', data], { timeoutMs: 60_000 });
      assert.equal(result.code, 0, result.stderr);
    }
    const missing: string[] = [];
    eachDoc((doc, text) => {
      for (const match of text.matchAll(/(?:<dataDir>\/|(?<![\w/.])data\/|(?<![\w/.<>])(?=certs\/))([A-Za-z0-9_.<>/-]*[A-Za-z0-9_>])/g)) {
        const path = match[1]!.replaceAll('<module>', 'm');
        if (path.includes('<')) continue;
        if (!existsSync(join(data, path))) missing.push(`${doc}: ${match[0]}`);
      }
    });
    outpost.child.kill('SIGTERM');
    assert.equal(await outpost.exited(), 0);
    assert.deepEqual(missing, []);
  });
});
