/**
 * Issue 15: log lines of the hub's parts carried `component` twice
 * (`"component":"hub","component":"store"`): pino writes a child's bindings after its parent's
 * without replacing a key. Every line of a start and stop of `outpost run` is read as written.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { startHub, testScope } from '../helpers/outpost-process.js';

const scope = testScope('outpost-log-lines-', after);

/** Keys of a JSON object text that occur more than once at its top level. */
function duplicateTopLevelKeys(text: string): string[] {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const key = text.slice(i + 1, end);
      i = end;
      // A string at depth 1 followed by ':' is a key of the line's object.
      if (depth === 1 && text[end + 1] === ':') {
        if (seen.has(key)) duplicates.push(key);
        seen.add(key);
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return duplicates;
}

describe('log lines', () => {
  it('write each key once, and name the part of the hub that wrote them', async () => {
    const dir = scope.newDir();
    const manifest = join(dir, 'deployment.json');
    writeFileSync(manifest, hubManifest({ all: 'FROM /messages/* INTO $upstream' }));
    const { outpost } = await startHub({ command: 'run', dataDir: join(dir, 'data'), args: ['--deployment', manifest], timeoutMs: 60_000 });
    scope.trackGraceful(outpost);
    await outpost.waitFor((line) => line.event === 'agent.ready', 60_000);
    outpost.child.kill('SIGTERM');
    assert.equal(await outpost.exited(), 0);
    assert.ok(outpost.rawLines.length > 10, 'the run logged its start and stop');
    for (const text of outpost.rawLines) assert.deepEqual(duplicateTopLevelKeys(text), [], text);
    const components = new Set(outpost.lines.map((line) => line.component));
    for (const component of ['hub', 'store', 'agent']) assert.ok(components.has(component), `no line from ${component}: ${[...components].join(', ')}`);
  });
});
