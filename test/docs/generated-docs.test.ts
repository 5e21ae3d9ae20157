import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigSchema, envName, leaves, renderConfigDoc } from '../../src/config/index.js';
import { ErrorRegistry, OutpostError, renderErrorsDoc } from '../../src/errors/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('generated documentation', () => {
  it('docs/config.md matches the configuration schema (run `npm run docs` after changing it)', () => {
    assert.equal(read('docs/config.md'), renderConfigDoc());
  });

  it('docs/errors.md matches the error registry (run `npm run docs` after changing it)', () => {
    assert.equal(read('docs/errors.md'), renderErrorsDoc());
  });

  it('documents every environment variable and alias of the schema', () => {
    const doc = read('docs/config.md');
    for (const leaf of leaves(ConfigSchema)) {
      assert.ok(doc.includes(`\`${envName(leaf.segments)}\``), envName(leaf.segments));
      for (const alias of leaf.options.aliases ?? []) assert.ok(doc.includes(`\`${alias.name}\``), alias.name);
    }
  });
});

describe('error registry', () => {
  it('names every code OUTPOST_<AREA>_<CONDITION>', () => {
    for (const code of Object.keys(ErrorRegistry)) assert.match(code, /^OUTPOST_[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^OUTPOST_INTERNAL$/, code);
  });

  it('registers every error code the source code uses', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/['"`](OUTPOST_[A-Z0-9_]+)['"`]/g)) used.add(match[1]!);
    }
    // OUTPOST_CONFIG names the config-file variable, not an error.
    used.delete('OUTPOST_CONFIG');
    const unknown = [...used].filter((code) => !(code in ErrorRegistry));
    assert.deepEqual(unknown, []);
  });

  it('round-trips an error across a worker boundary by code, message and details', () => {
    const error = new OutpostError('OUTPOST_LISTENER_BIND_FAILED', 'cannot bind', { details: { port: 8883 } });
    const copy = OutpostError.fromJSON(JSON.parse(JSON.stringify(error.toJSON())));
    assert.equal(copy.code, error.code);
    assert.equal(copy.message, error.message);
    assert.deepEqual(copy.details, { port: 8883 });
    assert.equal(copy.kind, 'config');
  });
});
