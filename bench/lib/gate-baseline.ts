// The gate's baseline build: which commit it is (chooseBaseline, pure), and its build in a cache
// directory outside the repository (buildBaseline): the commit's tree exported with `git archive`
// (not `git worktree add`, so the repository's worktree list is never touched), node_modules
// shared with the candidate when the lockfiles are identical (else `npm ci` once per lockfile,
// kept by the lockfile's hash), the native addon and `tsc`. A build is kept by commit, so a second
// gate run against the same baseline starts at once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BaselineFacts {
  /** --baseline REV, resolved to a commit (undefined when not given). */
  readonly explicit?: string;
  readonly head: string;
  /** The merge base of HEAD with main, when the repository has a main branch. */
  readonly mergeBase?: string;
  /** bench/gate.json's baselineCommit. */
  readonly recorded: string | null;
  /** Whether the recorded commit is in this clone's history (an ancestor of HEAD). */
  readonly recordedInHistory: boolean;
}

export type BaselineChoice = { readonly commit: string; readonly how: string } | { readonly none: string };

/**
 * Which commit the change is measured against. An explicit --baseline wins; on a branch off main,
 * the merge base (what the change started from); on main itself (CI's fresh clone, where the
 * merge base is HEAD) the commit recorded in bench/gate.json: the last landed commit whose gate
 * passed, moved forward by the commits that record it.
 */
export function chooseBaseline(facts: BaselineFacts): BaselineChoice {
  if (facts.explicit !== undefined) return { commit: facts.explicit, how: 'given with --baseline' };
  if (facts.mergeBase !== undefined && facts.mergeBase !== facts.head) return { commit: facts.mergeBase, how: 'the merge base of HEAD with main' };
  if (facts.recorded === null) return { none: 'bench/gate.json records no baseline commit' };
  if (!facts.recordedInHistory) return { none: `the recorded baseline ${facts.recorded.slice(0, 7)} is not in this clone's history of HEAD` };
  return { commit: facts.recorded, how: 'recorded in bench/gate.json (the last landed commit whose gate passed)' };
}

function git(repo: string, args: readonly string[]): string | undefined {
  const out = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** The full hash of `rev`, or undefined when it names no commit here. */
export function resolveCommit(repo: string, rev: string): string | undefined {
  return git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
}

/** Reads the facts chooseBaseline needs from the repository; an Error when it is not a git checkout. */
export function baselineFacts(repo: string, recorded: string | null, explicit: string | undefined): BaselineFacts | Error {
  const head = git(repo, ['rev-parse', 'HEAD']);
  if (head === undefined) return new Error(`${repo} is not a git checkout`);
  let explicitCommit: string | undefined;
  if (explicit !== undefined) {
    explicitCommit = resolveCommit(repo, explicit);
    if (explicitCommit === undefined) return new Error(`--baseline ${explicit} is not a commit of this repository`);
  }
  const main = ['refs/heads/main', 'refs/remotes/origin/main'].find((ref) => git(repo, ['rev-parse', '--verify', '--quiet', ref]) !== undefined);
  const mergeBase = main === undefined ? undefined : git(repo, ['merge-base', 'HEAD', main]);
  const recordedInHistory = recorded !== null && spawnSync('git', ['-C', repo, 'merge-base', '--is-ancestor', recorded, 'HEAD']).status === 0;
  return { ...(explicitCommit === undefined ? {} : { explicit: explicitCommit }), head, ...(mergeBase === undefined ? {} : { mergeBase }), recorded, recordedInHistory };
}

/** HEAD's short hash, with '+' when the working tree has changes that are not committed. */
export function candidateName(repo: string): string {
  const head = git(repo, ['rev-parse', '--short=7', 'HEAD']) ?? 'unknown';
  const dirty = (git(repo, ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  return `${head}${dirty ? '+' : ''}`;
}

/** Commits in HEAD that are not in `commit` (how far behind the baseline is). */
export function commitsBehind(repo: string, commit: string): number | undefined {
  const n = git(repo, ['rev-list', '--count', `${commit}..HEAD`]);
  return n === undefined ? undefined : Number(n);
}

export interface BaselineBuild {
  readonly commit: string;
  readonly root: string;
  readonly seconds: number;
  readonly cached: boolean;
  /** Whether the build has the native addon (the candidate's build is reported the same way). */
  readonly native: boolean;
  readonly steps: readonly string[];
}

export function hasNativeAddon(root: string): boolean {
  return existsSync(join(root, 'native', 'build', 'Release', 'outpost_native.node'));
}

function lockHash(root: string): string | undefined {
  const lock = join(root, 'package-lock.json');
  return existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex').slice(0, 16) : undefined;
}

const BUILT_MARKER = '.gate-built';
/** Baseline builds kept in the cache (the most recently used). */
const KEEP_BUILDS = 4;
const STEP_TIMEOUT_MS = 600_000;

function run(cmd: string, args: readonly string[], cwd: string, input?: Buffer): void {
  const out = spawnSync(cmd, args, { cwd, input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: STEP_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 });
  if (out.status !== 0) {
    const tail = `${out.stderr?.toString() ?? ''}${out.stdout?.toString() ?? ''}`.trim().split('\n').slice(-8).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (${out.error?.message ?? `exit ${String(out.status ?? out.signal)}`}): ${tail}`);
  }
}

function prune(cacheDir: string, keep: string): void {
  const builds = readdirSync(cacheDir)
    .filter((name) => /^[0-9a-f]{40}$/.test(name) && name !== keep && existsSync(join(cacheDir, name, BUILT_MARKER)))
    .map((name) => ({ name, used: statSync(join(cacheDir, name, BUILT_MARKER)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const old of builds.slice(KEEP_BUILDS - 1)) rmSync(join(cacheDir, old.name), { recursive: true, force: true });
}

/**
 * Builds `commit` under cacheDir/<commit> (or finds it built) and returns where; an Error saying
 * which step failed when it does not build. candidateRoot's node_modules is shared when the
 * lockfiles match.
 */
export function buildBaseline(repo: string, commit: string, cacheDir: string, candidateRoot: string): BaselineBuild | Error {
  const started = Date.now();
  const dir = join(cacheDir, commit);
  const marker = join(dir, BUILT_MARKER);
  const steps: string[] = [];
  try {
    mkdirSync(cacheDir, { recursive: true });
    if (existsSync(marker)) {
      // A build whose node_modules was the candidate's of an earlier run: point it at this run's
      // (same lockfile), since that checkout may be gone; when it cannot be, build again.
      const linked = join(dir, 'node_modules');
      const hash = lockHash(dir);
      if (hash !== undefined && hash === lockHash(candidateRoot) && existsSync(join(candidateRoot, 'node_modules'))) {
        rmSync(linked, { force: true });
        symlinkSync(realpathSync(join(candidateRoot, 'node_modules')), linked);
      }
      if (existsSync(join(linked, 'typescript'))) {
        writeFileSync(marker, `${JSON.stringify({ commit, usedAt: new Date().toISOString() })}\n`);
        return { commit, root: dir, seconds: (Date.now() - started) / 1000, cached: true, native: hasNativeAddon(dir), steps: ['cached'] };
      }
      rmSync(dir, { recursive: true, force: true });
    }
    // Built in a directory of its own and renamed at the end, so a build cut short is never taken
    // for a finished one.
    const work = join(cacheDir, `${commit}.tmp-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    const tar = spawnSync('git', ['-C', repo, 'archive', '--format=tar', commit], { maxBuffer: 1024 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`git archive ${commit} failed: ${tar.stderr.toString().trim()}`);
    run('tar', ['-x', '-C', work], work, tar.stdout);
    steps.push('git archive');
    const hash = lockHash(work);
    const candidateModules = join(candidateRoot, 'node_modules');
    let installed = false;
    if (hash !== undefined && hash === lockHash(candidateRoot) && existsSync(candidateModules)) {
      symlinkSync(realpathSync(candidateModules), join(work, 'node_modules'));
      steps.push("node_modules: the candidate's (same lockfile)");
    } else {
      // The shared copy must itself be named node_modules: Node resolves a package's own
      // dependencies from its real path upwards (symlinks resolved), so a folder renamed to
      // node_modules-<hash> would hide every transitive dependency (pino → pino-std-serializers).
      const shared = join(cacheDir, `deps-${hash ?? 'nolock'}`, 'node_modules');
      if (!existsSync(join(shared, '.gate-ready'))) {
        mkdirSync(dirname(shared), { recursive: true });
        // npm ci runs the package's own scripts too (the native addon, tsc).
        run('npm', ['ci', '--no-audit', '--no-fund'], work);
        rmSync(shared, { recursive: true, force: true });
        renameSync(join(work, 'node_modules'), shared);
        writeFileSync(join(shared, '.gate-ready'), `${commit}\n`);
        installed = true;
        steps.push('npm ci (its scripts built the addon and dist/)');
      } else {
        steps.push(`node_modules: cached for lockfile ${hash ?? 'nolock'}`);
      }
      symlinkSync(shared, join(work, 'node_modules'));
    }
    if (!installed) {
      if (existsSync(join(work, 'scripts', 'build-native.js'))) {
        run(process.execPath, ['scripts/build-native.js'], work);
        steps.push('native addon');
      }
      run(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], work);
      steps.push('tsc');
    }
    if (!existsSync(join(work, 'dist', 'src', 'cli', 'main.js')) || !existsSync(join(work, 'bin', 'outpost.js'))) throw new Error('the build has no bin/outpost.js or dist/src/cli/main.js');
    writeFileSync(join(work, BUILT_MARKER), `${JSON.stringify({ commit, builtAt: new Date().toISOString(), steps })}\n`);
    if (existsSync(marker)) {
      // Another gate run built the same commit meanwhile: keep its build (it may be running it).
      rmSync(work, { recursive: true, force: true });
      return { commit, root: dir, seconds: (Date.now() - started) / 1000, cached: true, native: hasNativeAddon(dir), steps: [...steps, 'kept the build another run finished first'] };
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
    prune(cacheDir, commit);
    return { commit, root: dir, seconds: (Date.now() - started) / 1000, cached: false, native: hasNativeAddon(dir), steps };
  } catch (error) {
    rmSync(join(cacheDir, `${commit}.tmp-${process.pid}`), { recursive: true, force: true });
    return error instanceof Error ? error : new Error(String(error));
  }
}
