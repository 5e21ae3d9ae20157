import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../errors/index.js';
import { writeFileAtomic } from '../fs/index.js';
import { AGGREGATE_FORMAT, MAX_AGGREGATE_SERIES, type AggregateState, type SeriesState } from './telemetry-aggregate.js';

export const TELEMETRY_DIR = 'telemetry';
export const AGGREGATE_FILE = 'aggregate.json';
export const SALT_FILE = 'salt';
/** Where an unreadable aggregate is moved (replacing an older one: one is enough to look at). */
export const CORRUPT_SUFFIX = '.corrupt';
const SALT_BYTES = 32;
/** Far above what MAX_AGGREGATE_SERIES series take; a larger file is not ours. */
const MAX_AGGREGATE_FILE_BYTES = 4 * 1024 * 1024;
const PRIVATE_FILE_MODE = 0o600;

/**
 * The files of runtime quality telemetry under <dataDir>/telemetry: the installation's salt (made
 * once, never sent; the hashes of one installation stay comparable across messages and restarts)
 * and the aggregate, each replaced whole (writeFileAtomic) so a crash leaves the old or the new.
 */
export class TelemetryFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, TELEMETRY_DIR);
  }

  get aggregateFile(): string {
    return join(this.dir, AGGREGATE_FILE);
  }

  /** The salt, made on first use; a salt file that is not 32 bytes of hex is replaced (hashes change once). */
  salt(): { salt: Buffer; created: boolean } {
    this.ensureDir();
    const file = join(this.dir, SALT_FILE);
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f]+$/.test(text) && text.length === SALT_BYTES * 2) return { salt: Buffer.from(text, 'hex'), created: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unavailable(file, error);
    }
    const salt = randomBytes(SALT_BYTES);
    this.write(file, salt.toString('hex'));
    return { salt, created: true };
  }

  /**
   * The stored aggregate: undefined when there is none; when it cannot be read as one, it is moved
   * aside and `corrupt` says why (the caller reports it and starts a fresh one).
   */
  loadAggregate(): { state: AggregateState | undefined; corrupt?: OutpostError } {
    const file = this.aggregateFile;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: undefined };
      throw unavailable(file, error);
    }
    try {
      return { state: parseAggregate(text) };
    } catch (error) {
      try {
        renameSync(file, file + CORRUPT_SUFFIX);
      } catch (moveError) {
        throw unavailable(file, moveError);
      }
      const reason = error instanceof Error ? error.message : String(error);
      return { state: undefined, corrupt: new OutpostError('OUTPOST_TELEMETRY_AGGREGATE_CORRUPT', `${file} is not a telemetry aggregate (${reason}); moved to ${file}${CORRUPT_SUFFIX}, starting again`, { details: { file, reason } }) };
    }
  }

  saveAggregate(state: AggregateState): void {
    this.ensureDir();
    this.write(this.aggregateFile, JSON.stringify(state));
  }

  private ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw unavailable(this.dir, error);
    }
  }

  private write(file: string, data: string): void {
    try {
      writeFileAtomic(file, data, PRIVATE_FILE_MODE);
    } catch (error) {
      throw unavailable(file, error);
    }
  }
}

function unavailable(path: string, cause: unknown): OutpostError {
  return new OutpostError('OUTPOST_TELEMETRY_STATE_UNAVAILABLE', `cannot read or write ${path}: ${(cause as Error).message}`, { details: { path }, cause });
}

/** Checks every field: a file that was truncated, edited or written by another version is refused whole. */
export function parseAggregate(text: string): AggregateState {
  if (text.length > MAX_AGGREGATE_FILE_BYTES) throw new Error(`larger than ${MAX_AGGREGATE_FILE_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  const state = value as Partial<AggregateState> | null;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new Error('not an object');
  if (state.format !== AGGREGATE_FORMAT) throw new Error(`format ${String(state.format)}, expected ${AGGREGATE_FORMAT}`);
  if (typeof state.instanceId !== 'string') throw new Error('instanceId missing');
  if (!isCount(state.periodStartMs)) throw new Error('periodStartMs missing');
  if (state.lastScrapeMs !== null && !isCount(state.lastScrapeMs)) throw new Error('lastScrapeMs invalid');
  if (!isCount(state.scrapes) || !isCount(state.processStarts)) throw new Error('scrapes or processStarts invalid');
  const series = state.series;
  if (typeof series !== 'object' || series === null || Array.isArray(series)) throw new Error('series missing');
  const entries = Object.entries(series);
  // Every tagged family may add one overflow series beyond the bound; far fewer than 256 families exist.
  if (entries.length > MAX_AGGREGATE_SERIES * 2) throw new Error(`${entries.length} series, more than ${MAX_AGGREGATE_SERIES * 2}`);
  for (const [key, entry] of entries) {
    if (!isSeries(entry)) throw new Error(`series ${key.slice(0, 80)} invalid`);
  }
  return { format: AGGREGATE_FORMAT, instanceId: state.instanceId, periodStartMs: state.periodStartMs, lastScrapeMs: state.lastScrapeMs ?? null, scrapes: state.scrapes, processStarts: state.processStarts, series: series as Record<string, SeriesState> };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isNumbers(value: unknown, length?: number): value is number[] {
  return Array.isArray(value) && value.every(isNumber) && (length === undefined || value.length === length);
}

function isSeries(value: unknown): value is SeriesState {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  if (typeof s.name !== 'string' || typeof s.labels !== 'object' || s.labels === null || Array.isArray(s.labels)) return false;
  if (!Object.values(s.labels).every((v) => typeof v === 'string')) return false;
  switch (s.type) {
    case 'counter':
      return isCount(s.total) && isNumber(s.last);
    case 'gauge':
      return isNumber(s.min) && isNumber(s.max) && isNumber(s.sum) && isCount(s.samples) && isNumber(s.last);
    case 'histogram': {
      if (!isNumbers(s.bounds)) return false;
      const slots = s.bounds.length + 1;
      return isNumbers(s.counts, slots) && isNumbers(s.lastCounts, slots) && isNumber(s.sum) && isCount(s.count) && isNumber(s.lastSum) && isCount(s.lastCount);
    }
    default:
      return false;
  }
}
