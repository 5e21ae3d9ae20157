import { closeSync, copyFileSync, openSync, readSync, statSync, truncateSync, watch, type FSWatcher } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';

/**
 * A process module's output file (<dataDir>/agent/processes/<id>.log): both stdout and stderr go
 * to it directly (the module holds the descriptor, so output survives an agent restart), and
 * `outpost logs` reads it here: the last N lines, then, with follow, what is appended.
 */

const CHUNK_BYTES = 64 * 1024;
/** Safety net under fs.watch, which can miss events on some file systems. */
const FOLLOW_POLL_MS = 1_000;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readRange(path: string, start: number, end: number): Buffer {
  if (end <= start) return Buffer.alloc(0);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(end - start);
    let done = 0;
    while (done < buffer.length) {
      const n = readSync(fd, buffer, done, buffer.length - done, start + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Offset where the last `lines` lines of the file start (a final line without '\n' counts). */
export function tailOffset(path: string, size: number, lines: number): number {
  if (lines <= 0) return size;
  let end = size;
  let newlines = 0;
  // A trailing newline ends the last line; it does not start a new one.
  let skipTrailing = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const chunk = readRange(path, start, end);
    for (let i = chunk.length - 1; i >= 0; i--) {
      if (chunk[i] !== 0x0a) {
        skipTrailing = false;
        continue;
      }
      if (skipTrailing) {
        skipTrailing = false;
        continue;
      }
      newlines++;
      if (newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

export function logFileStream(path: string, options: { tail?: number; follow?: boolean; signal?: AbortSignal }): Readable {
  const out = new PassThrough();
  // One size for the tail's offset and, without follow, for the read: a module writing between
  // the two would otherwise add lines past the N asked for.
  const sizeAtStart = sizeOf(path);
  let position = options.tail === undefined ? 0 : tailOffset(path, sizeAtStart, options.tail);
  const pump = (upTo?: number) => {
    const size = upTo ?? sizeOf(path);
    if (size < position) position = 0; // rotated or truncated: start over from the new file
    if (size > position) {
      const data = readRange(path, position, size);
      position += data.length;
      if (data.length > 0) out.write(data);
    }
  };
  if (options.follow !== true) {
    pump(sizeAtStart);
    out.end();
    return out;
  }
  pump();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, () => pump());
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(pump, FOLLOW_POLL_MS);
  const finish = () => {
    clearInterval(timer);
    watcher?.close();
    if (!out.writableEnded) out.end();
  };
  options.signal?.addEventListener('abort', finish, { once: true });
  out.on('close', finish);
  if (options.signal?.aborted === true) finish();
  return out;
}

/**
 * Copy-and-truncate rotation: the module keeps writing to the same descriptor (opened with
 * O_APPEND, so it continues at the new end). A few lines written between copy and truncate can
 * be lost; that is the usual price of copytruncate and acceptable for logs.
 */
export function rotateLog(path: string, maxBytes: number): boolean {
  if (maxBytes <= 0 || sizeOf(path) <= maxBytes) return false;
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}
