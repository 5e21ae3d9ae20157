import { Transform, type TransformCallback } from 'node:stream';

/** A leading ISO 8601 time, as most loggers (and `docker logs -t`) start a line. */
const LEADING_ISO = /^\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)/;
const NEWLINE = 0x0a;

/** The time a log line was written, when it says: pino's `time` (ms or ISO) or a leading ISO time. */
export function lineTimeMs(line: string): number | undefined {
  if (line.startsWith('{')) {
    try {
      const time = (JSON.parse(line) as { time?: unknown }).time;
      if (typeof time === 'number') return time;
      if (typeof time === 'string') {
        const parsed = Date.parse(time);
        if (!Number.isNaN(parsed)) return parsed;
      }
    } catch {
      // not JSON after all: try the leading time
    }
  }
  const match = LEADING_ISO.exec(line);
  if (match === null) return undefined;
  const parsed = Date.parse(match[1]!);
  return Number.isNaN(parsed) ? undefined : parsed;
}

export interface LogWindow {
  readonly sinceMs?: number;
  readonly untilMs?: number;
}

/**
 * Keeps the lines written within [sinceMs, untilMs]. A process module's log file has no times
 * of its own (the module writes it directly), so a line's time is the one it carries; a line
 * without one (a stack trace, a banner) goes with the line before it, and lines before any
 * timed line are kept, since nothing says when they were written.
 */
export class LogWindowFilter extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private lastTimeMs: number | undefined;

  constructor(private readonly window: LogWindow) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let newline = data.indexOf(NEWLINE);
    while (newline !== -1) {
      this.emitLine(data.subarray(0, newline + 1));
      data = data.subarray(newline + 1);
      newline = data.indexOf(NEWLINE);
    }
    this.pending = Buffer.from(data);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending.length > 0) this.emitLine(this.pending);
    callback();
  }

  private emitLine(line: Buffer): void {
    const timeMs = lineTimeMs(line.toString('utf8'));
    if (timeMs !== undefined) this.lastTimeMs = timeMs;
    if (inWindow(this.lastTimeMs, this.window)) this.push(line);
  }
}

export function inWindow(timeMs: number | undefined, window: LogWindow): boolean {
  if (timeMs === undefined) return true;
  if (window.sinceMs !== undefined && timeMs < window.sinceMs) return false;
  if (window.untilMs !== undefined && timeMs > window.untilMs) return false;
  return true;
}

/**
 * `--since`/`--until` as `iotedge logs` takes them: a duration back from now ("90s", "30m",
 * "2h", "1d", "1 day") or an absolute time (ISO 8601, or seconds since the epoch).
 */
export function parseTimeArg(text: string, nowMs: number): number | undefined {
  const trimmed = text.trim();
  const ago = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)(\s+ago)?$/i.exec(trimmed);
  if (ago !== null) {
    const unit = ago[2]!.toLowerCase();
    const factor = unit === 'ms' ? 1 : unit.startsWith('s') ? 1_000 : unit.startsWith('m') ? 60_000 : unit.startsWith('h') ? 3_600_000 : 86_400_000;
    return nowMs - Number(ago[1]) * factor;
  }
  if (/^\d{9,}$/.test(trimmed)) return Number(trimmed) * 1000;
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? undefined : parsed;
}
