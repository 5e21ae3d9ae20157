import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from '../../log/index.js';
import { DeploymentStatusCode } from './deployment-status.js';
import { readDeployment } from './read-deployment.js';
import type { DeploymentResult, RuntimeKind } from './validate-deployment.js';
import { validateForApply } from './validate-for-apply.js';

export interface DeploymentSourceOptions {
  /** agent.deployment, or the embedded default manifest. */
  readonly configuredFile: string;
  /** <dataDir>/agent: where `outpost deploy` keeps the deployed manifest. */
  readonly stateDir: string;
  readonly runtime: RuntimeKind;
  readonly logger: Logger;
  /** PATH that process modules' commands are looked up in (checked before a deploy is accepted). */
  readonly searchPath?: string;
}

export interface SourcedDeployment {
  readonly result: DeploymentResult;
  /** The manifest's own path (relative process cwd values resolve against its folder). */
  readonly file: string;
  /** sha256 of the manifest text: a change of content bumps lastDesiredVersion. */
  readonly contentHash: string;
  /** 'twin': the $edgeAgent and $edgeHub desired properties of an agent managed from above. */
  readonly origin: 'file' | 'deploy' | 'twin';
}

interface DeployedMeta {
  readonly originalFile: string;
  readonly configuredFile: string;
  readonly configuredMtimeMs: number;
}

const DEBOUNCE_MS = 100;

/**
 * Where the desired deployment comes from. The configured manifest file is watched; `outpost
 * deploy <file>` replaces it with a validated copy kept in <dataDir>/agent/deployment.json. The
 * latest operator action wins: a deploy stays in force (across agent restarts) until the
 * configured file is edited or agent.deployment names another file.
 */
export class DeploymentSource {
  private readonly deployedFile: string;
  private readonly metaFile: string;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastConfiguredMtimeMs: number;

  constructor(private readonly options: DeploymentSourceOptions) {
    mkdirSync(options.stateDir, { recursive: true });
    this.deployedFile = join(options.stateDir, 'deployment.json');
    this.metaFile = join(options.stateDir, 'deployment.meta.json');
    this.lastConfiguredMtimeMs = mtimeOf(options.configuredFile);
  }

  /** The deployment in force now. */
  load(): SourcedDeployment {
    const meta = this.deployedMeta();
    if (meta !== undefined && existsSync(this.deployedFile)) {
      if (meta.configuredFile === resolve(this.options.configuredFile) && meta.configuredMtimeMs === mtimeOf(this.options.configuredFile)) {
        return this.fromText(meta.originalFile, readFileSync(this.deployedFile, 'utf8'), 'deploy');
      }
      this.dropDeployed();
    }
    return this.fromFile(this.options.configuredFile);
  }

  /**
   * Validates manifest text sent by `outpost deploy` (validateForApply, the validation `outpost
   * check` runs too: an operator is told at once what would fail once applied, Azure's 400);
   * when valid, keeps it and makes it the source in force. An invalid one changes nothing.
   */
  deploy(originalFile: string, text: string): SourcedDeployment {
    const contentHash = createHash('sha256').update(text).digest('hex');
    const result = validateForApply(originalFile, { runtime: this.options.runtime, searchPath: this.options.searchPath ?? '', text });
    const sourced: SourcedDeployment = { result, file: originalFile, contentHash, origin: 'deploy' };
    if (!result.ok) return sourced;
    const meta: DeployedMeta = { originalFile, configuredFile: resolve(this.options.configuredFile), configuredMtimeMs: mtimeOf(this.options.configuredFile) };
    writeFileSync(`${this.deployedFile}.tmp`, text, { mode: 0o600 });
    renameSync(`${this.deployedFile}.tmp`, this.deployedFile);
    writeFileSync(`${this.metaFile}.tmp`, JSON.stringify(meta));
    renameSync(`${this.metaFile}.tmp`, this.metaFile);
    return sourced;
  }

  /**
   * Calls `listener` when the configured file changes. The folder is watched, not the file:
   * editors and `mv` replace the file, which a watch on the file itself would lose.
   */
  watch(listener: (sourced: SourcedDeployment) => void): void {
    const file = resolve(this.options.configuredFile);
    try {
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name !== null && name !== basename(file)) return;
        if (this.debounce !== undefined) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => {
          const mtime = mtimeOf(file);
          if (mtime === this.lastConfiguredMtimeMs) return;
          this.lastConfiguredMtimeMs = mtime;
          this.dropDeployed();
          this.options.logger.info({ event: 'agent.deployment_file_changed', file }, 'deployment manifest changed');
          listener(this.fromFile(file));
        }, DEBOUNCE_MS);
        this.debounce.unref();
      });
      this.watcher.on('error', (error) => this.options.logger.warn({ event: 'agent.deployment_watch_failed', file, err: error }, 'cannot watch the deployment manifest'));
      this.watcher.unref();
    } catch (error) {
      this.options.logger.warn({ event: 'agent.deployment_watch_failed', file, err: error }, 'cannot watch the deployment manifest; changes need `outpost deploy`');
    }
  }

  close(): void {
    this.watcher?.close();
    if (this.debounce !== undefined) clearTimeout(this.debounce);
  }

  private fromFile(file: string): SourcedDeployment {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      text = undefined;
    }
    if (text === undefined) return { result: readDeployment(file, this.options.runtime), file, contentHash: 'unreadable', origin: 'file' };
    return this.fromText(file, text, 'file');
  }

  private fromText(file: string, text: string, origin: 'file' | 'deploy'): SourcedDeployment {
    const contentHash = createHash('sha256').update(text).digest('hex');
    const result = text.trim() === '' ? { ok: false as const, code: DeploymentStatusCode.ConfigEmptyError, problems: [{ path: '', message: 'the deployment manifest is empty' }] } : readDeployment(file, this.options.runtime, text);
    return { result, file, contentHash, origin };
  }

  private deployedMeta(): DeployedMeta | undefined {
    try {
      return JSON.parse(readFileSync(this.metaFile, 'utf8')) as DeployedMeta;
    } catch {
      return undefined;
    }
  }

  private dropDeployed(): void {
    rmSync(this.deployedFile, { force: true });
    rmSync(this.metaFile, { force: true });
  }
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
