import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, resolve } from 'node:path';
import { compileRouteTable, describeRejected, pointAtProblem } from '../../hub/routing/index.js';
import type { ManifestProblem } from './load-manifest.js';
import type { Deployment } from './validate-deployment.js';

/**
 * Checks of a valid deployment against what it will meet when applied, made before an operator's
 * `outpost deploy` is accepted and by `outpost check`: every route compiles, and every process
 * module's program exists on this machine. A deployment failing them is answered 400 with each
 * problem (Azure answers 400 for an invalid deployment); the one in force stays. A manifest file
 * the agent reads at start or on an edit is not refused for them: there a bad route is dropped
 * alone and a missing program fails its module, each logged.
 */

const HUB_ROUTES = "modulesContent.$edgeHub['properties.desired'].routes";
const AGENT_MODULES = "modulesContent.$edgeAgent['properties.desired'].modules";

/** Node options whose value is the next argument: after one, the script cannot be told apart. */
const NODE_VALUE_OPTIONS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--input-type']);
/** Node options that run code from the command line instead of a script. */
const NODE_EVAL_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-i', '--interactive', '-', '--test']);

/** Each route of the deployment's $edgeHub that does not compile: name, position and reason. */
export function routeProblems(hub: Readonly<Record<string, unknown>>): ManifestProblem[] {
  const schemaVersion = typeof hub.schemaVersion === 'string' ? hub.schemaVersion : undefined;
  const table = compileRouteTable(hub.routes, schemaVersion === undefined ? {} : { schemaVersion });
  return table.rejected.map((rejected) => ({
    path: rejected.name === '' ? HUB_ROUTES : `${HUB_ROUTES}.${rejected.name}`,
    message: describeRejected(rejected).replace(/ \(OUTPOST_[A-Z_]+\)$/, ''),
    code: rejected.error.code,
    ...(rejected.problem !== undefined && rejected.text !== undefined ? { excerpt: pointAtProblem(rejected.text, rejected.problem) } : {}),
  }));
}

/**
 * Each process module whose working directory, command or Node.js script is missing. `searchPath`
 * is the PATH a bare command is looked up in (the one the module inherits); "node" is the Node.js
 * running Outpost, as in the process runtime.
 */
export function programProblems(deployment: Deployment, searchPath: string): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  for (const spec of deployment.modules) {
    const settings = spec.process;
    if (settings === undefined) continue;
    const at = `${AGENT_MODULES}.${spec.id}.settings.process`;
    const add = (field: string, message: string) => problems.push({ path: `${at}.${field}`, message: `module ${spec.id}: ${message}`, code: 'OUTPOST_AGENT_MODULE_PROGRAM_MISSING' });
    if (!isDirectory(settings.cwd)) {
      add('cwd', `the working directory ${settings.cwd} does not exist (a relative cwd is resolved against the manifest's folder; \${OUTPOST_INSTALL_DIR} is the folder Outpost is installed in)`);
      continue;
    }
    const isNode = settings.command === 'node';
    if (!isNode) {
      const found = findExecutable(settings.command, settings.cwd, searchPath);
      if (found === undefined) add('command', settings.command.includes('/') ? `the command ${resolve(settings.cwd, settings.command)} does not exist or is not executable` : `the command ${settings.command} is not found on PATH`);
      if (found === undefined || basename(found) !== 'node') continue;
    }
    const script = nodeScriptIndex(settings.args);
    if (script === undefined) continue;
    const file = resolve(settings.cwd, settings.args[script]!);
    if (!isFile(file)) add(`args[${script}]`, `the Node.js script ${file} does not exist (relative to the working directory ${settings.cwd})`);
  }
  return problems;
}

/** Index of the script a `node` command line runs, when it can be told for sure. */
function nodeScriptIndex(args: readonly string[]): number | undefined {
  for (const [index, arg] of args.entries()) {
    if (NODE_EVAL_OPTIONS.has(arg) || NODE_VALUE_OPTIONS.has(arg)) return undefined;
    if (arg === '--') return index + 1 < args.length ? index + 1 : undefined;
    if (!arg.startsWith('-')) return index;
  }
  return undefined;
}

function findExecutable(command: string, cwd: string, searchPath: string): string | undefined {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : resolve(cwd, command)] : searchPath.split(delimiter).filter((dir) => dir !== '').map((dir) => resolve(dir, command));
  return candidates.find((file) => isFile(file) && isExecutable(file));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
