import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the package `npm pack` packs). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface PackedInstall {
  /** Readable by every user (tests run the install as an unprivileged user). */
  readonly dir: string;
  readonly tarball: string;
  /** npm global prefix: bin/outpost and lib/node_modules/outpost. */
  readonly prefix: string;
  readonly packageDir: string;
  readonly bin: string;
  remove(): void;
}

/**
 * Packs the repository as `npm pack` does for a release (dist/ as compiled by the test run; the
 * prepare script is not run again) and installs the tarball the way docs/operations.md says a
 * gateway does: `npm install -g --omit=dev`, here into a temporary prefix. The run-time
 * dependencies come from npm's cache or the registry. Install scripts are run for Outpost alone
 * (`npm rebuild outpost`, its native addon): the optional C++ builds of dockerode's ssh2 and
 * cpu-features, which have JavaScript fallbacks, take most of a minute on a loaded 2-core machine
 * and would push this test past its time limit.
 */
export function packAndInstall(): PackedInstall {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-pack-'));
  chmodSync(dir, 0o755);
  const remove = () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as { filename: string }[];
    const tarball = join(dir, packed[0]!.filename);
    const prefix = join(dir, 'prefix');
    const npm = (args: string[]) => execFileSync('npm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: npmEnv() });
    npm(['install', '-g', '--prefix', prefix, '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball]);
    npm(['rebuild', '-g', '--prefix', prefix, '--loglevel=error', 'outpost']);
    const packageDir = join(prefix, 'lib', 'node_modules', 'outpost');
    const bin = join(prefix, 'bin', 'outpost');
    if (!existsSync(bin)) throw new Error(`npm install -g did not create ${bin}`);
    return { dir, tarball, prefix, packageDir, bin, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** npm's environment without the settings of an enclosing `npm test` (prefix, omit, workspace…). */
function npmEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OUTPOST_') && !key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  return env;
}

/** Names of the packages installed beside the runtime (its node_modules, scopes expanded). */
export function installedPackages(packageDir: string): string[] {
  const root = join(packageDir, 'node_modules');
  const names: string[] = [];
  for (const name of readdirSync(root)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) names.push(...readdirSync(join(root, name)).map((inner) => `${name}/${inner}`));
    else names.push(name);
  }
  return names;
}

/** Lists the files of a tarball. */
export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter((line) => line !== '');
}
