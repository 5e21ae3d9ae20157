import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { OutpostError, toOutpostError } from '../errors/index.js';
import type { LoadedConfig } from './load.js';
import type { OutpostConfig } from './schema.js';
import { leaves } from './schema-helpers.js';
import { ConfigSchema } from './schema.js';

export interface ConfigWatcherOptions {
  /** The configuration file (absolute). */
  readonly file: string;
  /** Loads the configuration again from every source, as at start; throws OutpostError when invalid. */
  readonly load: () => LoadedConfig;
  /** The configuration in force. */
  readonly current: OutpostConfig;
  /** A valid new configuration, with the dotted paths of the leaves whose value changed. */
  readonly onChange: (next: OutpostConfig, changed: readonly string[]) => void;
  /** The edited file does not load: nothing changes. */
  readonly onError: (error: OutpostError) => void;
  /** Quiet period after the last file event before reading (editors write in several steps). */
  readonly debounceMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 100;

/**
 * Watches the configuration file of a running process and loads it again when its content
 * changes. The folder is watched, not the file: editors and `mv` replace the file, which a watch
 * on the file itself would lose. A file that does not load is reported and changes nothing; the
 * last good configuration stays the one compared against.
 */
export class ConfigWatcher {
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private current: OutpostConfig;
  private contentHash: string;

  private constructor(private readonly options: ConfigWatcherOptions) {
    this.current = options.current;
    this.contentHash = hashOf(options.file);
  }

  /** Starts watching; throws when the folder cannot be watched. */
  static watch(options: ConfigWatcherOptions): ConfigWatcher {
    const watcher = new ConfigWatcher(options);
    const name = basename(options.file);
    watcher.watcher = watch(dirname(options.file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (watcher.debounce !== undefined) clearTimeout(watcher.debounce);
      watcher.debounce = setTimeout(() => watcher.check(), options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
      watcher.debounce.unref();
    });
    watcher.watcher.on('error', (error) => options.onError(new OutpostError('OUTPOST_CONFIG_FILE_UNREADABLE', `cannot watch the configuration file ${options.file}: ${error.message}`, { cause: error })));
    watcher.watcher.unref();
    return watcher;
  }

  /** Loads the file now if its content changed since the last load (also for SIGHUP). */
  check(): void {
    const hash = hashOf(this.options.file);
    if (hash === this.contentHash) return;
    this.contentHash = hash;
    this.reload();
  }

  /** Loads the configuration again whatever the file holds. */
  reload(): void {
    let next: OutpostConfig;
    try {
      next = this.options.load().config;
    } catch (error) {
      this.options.onError(toOutpostError(error, 'OUTPOST_CONFIG_INVALID'));
      return;
    }
    const changed = changedLeaves(this.current, next);
    this.current = next;
    if (changed.length > 0) this.options.onChange(next, changed);
  }

  close(): void {
    this.watcher?.close();
    if (this.debounce !== undefined) clearTimeout(this.debounce);
  }
}

/** Dotted paths of the leaves whose values differ. */
export function changedLeaves(before: OutpostConfig, after: OutpostConfig): string[] {
  const at = (config: OutpostConfig, segments: readonly string[]) => segments.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
  return leaves(ConfigSchema)
    .filter((leaf) => JSON.stringify(at(before, leaf.segments)) !== JSON.stringify(at(after, leaf.segments)))
    .map((leaf) => leaf.path);
}

function hashOf(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return 'unreadable';
  }
}
