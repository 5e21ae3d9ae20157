/**
 * Regenerates the documentation that is derived from code: docs/config.md from the configuration
 * schema, docs/errors.md from the error registry and docs/metrics.md from src/metrics. `--check` exits 1 when a file is stale
 * instead of writing it (the test suite does the same comparison).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDoc } from '../src/config/index.js';
import { renderErrorsDoc } from '../src/errors/index.js';
import { renderMetricsDoc } from '../src/metrics/index.js';

const root = new URL('../../', import.meta.url);
const generated: [string, string][] = [
  ['docs/config.md', renderConfigDoc()],
  ['docs/errors.md', renderErrorsDoc()],
  ['docs/metrics.md', renderMetricsDoc()],
];

const check = process.argv.includes('--check');
let stale = 0;
for (const [path, text] of generated) {
  const url = new URL(path, root);
  let current = '';
  try {
    current = readFileSync(url, 'utf8');
  } catch {
    current = '';
  }
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${path} is stale: run \`npm run docs\`\n`);
    stale += 1;
  } else {
    writeFileSync(url, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.exit(stale === 0 ? 0 : 1);
