import type { Logger } from 'pino';

/**
 * Logs a repeated line at most once per interval per key, and reports how many were suppressed
 * in between (`suppressed` on the next line of that key), so a flood of bad packets or failed
 * logins cannot flood the log. Keys are reasons, not clients; even so at most `maxKeys` are kept
 * (the least recently logged go first), so keys built from client input cannot grow the map.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 1_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message?: string): boolean {
    return this.log('warn', key, fields, message);
  }

  info(key: string, fields: Record<string, unknown>, message?: string): boolean {
    return this.log('info', key, fields, message);
  }

  private log(level: 'info' | 'warn', key: string, fields: Record<string, unknown>, message: string | undefined): boolean {
    if (!this.logger.isLevelEnabled(level)) return false;
    const nowMs = this.now();
    const entry = this.last.get(key);
    if (entry !== undefined && nowMs - entry.atMs < this.intervalMs) {
      entry.suppressed += 1;
      return false;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.delete(key);
    while (this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
    return true;
  }
}
