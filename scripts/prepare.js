#!/usr/bin/env node
// The package's prepare script (`npm ci` / `npm install` in a clone, `npm pack`): compiles the
// TypeScript into dist/. TypeScript is a dev dependency, so `npm ci --omit=dev` in a clone cannot
// build; rather than fail with "tsc: not found", say what to do instead. A gateway installs the
// packed tarball (dist/ already built, no prepare run): docs/operations.md, "Production install".
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  process.stderr.write(
    'prepare: TypeScript is not installed (dev dependencies omitted?), so dist/ cannot be built here.\n' +
      '  To install Outpost without dev dependencies, build the package where they are installed\n' +
      '  (`npm ci && npm pack`) and install the tarball: `npm install -g --omit=dev ./outpost-<version>.tgz`.\n',
  );
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
