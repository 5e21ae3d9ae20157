/**
 * The registry's file: `<dataDir>/identities/identities.json`, mode 0600 (it holds keys), written
 * atomically. `{"formatVersion": 1, "identities": [...]}`, sorted by id so diffs stay readable.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../../errors/index.js';
import { describeJsonError } from './describe-json-error.js';
import { identityKey, recordProblems, type IdentityRecord } from './identity-record.js';
import { writeFileAtomic } from '../../fs/index.js';

export const IDENTITIES_DIR = 'identities';
export const IDENTITIES_FILE = 'identities.json';
const FORMAT_VERSION = 1;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** What the file looked like when last read or written; a different stamp means someone changed it. */
export interface FileStamp {
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly size: bigint;
  readonly ino: bigint;
}

export function identitiesFile(dataDir: string): string {
  return join(dataDir, IDENTITIES_DIR, IDENTITIES_FILE);
}

export function stampOf(file: string): FileStamp | undefined {
  try {
    // Nanoseconds and the inode: two writes in the same millisecond with the same size (a key
    // rotation) must still look different.
    const stat = statSync(file, { bigint: true });
    return { mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, size: stat.size, ino: stat.ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(file, (error as Error).message, error);
  }
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.size === b.size && a.ino === b.ino);
}

/** Reads every record; a missing file is an empty registry. Any problem fails the whole read. */
export function readIdentityFile(file: string): { records: IdentityRecord[]; stamp: FileStamp | undefined } {
  const stamp = stampOf(file);
  if (stamp === undefined) return { records: [], stamp };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw unreadable(file, (error as Error).message, error);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // No cause: V8's message quotes the file, and the file holds keys.
    throw unreadable(file, describeJsonError(error, text));
  }
  if (typeof data !== 'object' || data === null || (data as Record<string, unknown>).formatVersion !== FORMAT_VERSION) {
    throw unreadable(file, `expected {"formatVersion": ${FORMAT_VERSION}, "identities": [...]}`);
  }
  const list = (data as Record<string, unknown>).identities;
  if (!Array.isArray(list)) throw unreadable(file, '"identities" must be an array');
  const seen = new Set<string>();
  const problems: string[] = [];
  list.forEach((value: unknown, index) => {
    const found = recordProblems(value);
    if (found.length > 0) {
      problems.push(...found.map((problem) => `identities[${index}]: ${problem}`));
      return;
    }
    const record = value as IdentityRecord;
    const key = identityKey(record.deviceId, record.moduleId);
    if (seen.has(key)) problems.push(`identities[${index}]: ${key} appears twice`);
    seen.add(key);
  });
  if (problems.length > 0) throw unreadable(file, problems.join('; '));
  return { records: list as IdentityRecord[], stamp };
}

export function writeIdentityFile(file: string, records: readonly IdentityRecord[]): FileStamp {
  mkdirSync(join(file, '..'), { recursive: true, mode: DIR_MODE });
  const sorted = [...records].sort((a, b) => compareKeys(identityKey(a.deviceId, a.moduleId), identityKey(b.deviceId, b.moduleId)));
  writeFileAtomic(file, `${JSON.stringify({ formatVersion: FORMAT_VERSION, identities: sorted }, null, 2)}\n`, FILE_MODE);
  return stampOf(file)!;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unreadable(file: string, reason: string, cause?: unknown): OutpostError {
  return new OutpostError('OUTPOST_IDENTITY_STORE_UNREADABLE', `identity registry ${file}: ${reason}`, {
    details: { file },
    ...(cause === undefined ? {} : { cause }),
  });
}
