/**
 * No two capabilities import each other in a circle (issue 16: config ↔ auth). Every relative
 * import of src/, type-only ones included (as `madge --circular` counts them), forms a graph of
 * files; a strongly connected group of files spanning two capability folders (`src/x`, or
 * `src/hub/x`) is a circle between them. Circles inside one folder are that folder's business.
 * And auth stays protocol-neutral: it imports no transport.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const targets: string[] = [];
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts'));
      if (existsSync(target)) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one file. */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1) found.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** `config`, `hub/auth`, `hub/transport`, …: the folder a file's capability is. */
function capability(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return parts[0]!;
  return parts[0] === 'hub' && parts.length > 2 ? `hub/${parts[1]}` : parts[0]!;
}

describe('imports between capabilities', () => {
  it('form no circle (type-only imports included)', () => {
    const crossing = circles(importGraph())
      .map((component) => ({ folders: [...new Set(component.map(capability))].sort(), files: component.map((f) => relative(SRC, f)).sort() }))
      .filter((circle) => circle.folders.length > 1);
    assert.deepEqual(crossing, []);
  });

  it('leave authentication protocol-neutral: auth imports no transport (the MQTT user name is read by the MQTT transport)', () => {
    const graph = importGraph();
    const offending = [...graph].flatMap(([file, targets]) => (capability(file) === 'hub/auth' ? targets.filter((t) => capability(t) === 'hub/transport').map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`) : []));
    assert.deepEqual(offending, []);
  });
});
