#!/usr/bin/env node
// Builds the optional N-API addon (native/) with node-gyp: run by `npm ci` / `npm install` (the
// package's install script) and by `npm run build:native`. OUTPOST_NATIVE decides what a failure
// means, as it does at run time:
//   auto (default)  a failed build is a warning; Outpost then uses the TypeScript implementations
//   require         a failed build fails the install, loudly
//   off             nothing is built
// node-gyp is npm's own copy (npm_config_node_gyp); Node's headers come from npm's `nodedir`
// when it is configured, else from the prefix of this node binary (/usr/include/node for Debian's),
// so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const nativeDir = join(root, 'native');
const addon = join(nativeDir, 'build', 'Release', 'outpost_native.node');
const mode = process.env.OUTPOST_NATIVE ?? 'auto';

function say(line) {
  process.stderr.write(`build-native: ${line}\n`);
}

if (!['auto', 'off', 'require'].includes(mode)) {
  say(`OUTPOST_NATIVE must be auto, off or require, got "${mode}"`);
  process.exit(1);
}
if (mode === 'off') {
  say('OUTPOST_NATIVE=off: the native addon is not built');
  process.exit(0);
}

function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm !== undefined && existsSync(fromNpm)) return [process.execPath, fromNpm];
  // Outside npm: npm's bundled copy next to this node, else one on PATH.
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

function nodedirArgs() {
  if (process.env.npm_config_nodedir !== undefined) return [];
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

const [command, ...prefixArgs] = nodeGyp();
const args = [...prefixArgs, 'rebuild', `--directory=${nativeDir}`, ...nodedirArgs()];
const started = Date.now();
const result = spawnSync(command, args, { encoding: 'utf8', cwd: nativeDir });
const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
if (result.status === 0 && existsSync(addon)) {
  say(`built ${addon} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(0);
}
const reason = result.error?.message ?? `node-gyp exited with ${String(result.status ?? result.signal)}`;
const tail = output.split('\n').filter((line) => !line.startsWith('gyp info')).slice(-25).join('\n');
if (mode === 'require') {
  say(`FAILED (${reason}) and OUTPOST_NATIVE=require:\n${tail}`);
  process.exit(1);
}
say(`WARNING: the native addon was not built (${reason}); Outpost uses its TypeScript implementations. Set OUTPOST_NATIVE=require to make this fatal.\n${tail}`);
process.exit(0);
