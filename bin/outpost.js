#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript into dist/ by `npm ci` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('outpost: dist/ is missing; run `npm ci` (or `npm run build`) first\n');
  process.exit(1);
}
// A hub's main thread holds its young generation at the memory plan's size (src/hub/young-generation-cap.ts),
// which V8 takes only as a flag read at start or, while running, as its growth factor. It is held from
// here, before anything is loaded: start-up's burst would otherwise grow it to V8's 16 MiB semi-spaces
// before the plan is known, and V8 does not shrink it again while the hub is busy.
// (The module it asks loads only node:v8 and node:perf_hooks.)
const command = process.argv[2];
if (command === 'hub' || command === 'run') {
  const { semiSpaceSetOnCommandLine } = await import(new URL('../dist/src/hub/young-generation-cap.js', import.meta.url).href);
  if (!semiSpaceSetOnCommandLine()) setFlagsFromString('--semi-space-growth-factor=1');
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
