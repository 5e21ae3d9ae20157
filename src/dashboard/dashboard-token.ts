import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chownSync, openSync, readFileSync, renameSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../errors/index.js';

/** The operator token's file in the data directory (mode 0600). */
export const DASHBOARD_TOKEN_FILE = 'dashboard.token';

/** 32 random bytes: guessing is hopeless, so failed sign-ins need no lockout. */
const TOKEN_BYTES = 32;

/**
 * The dashboard's operator token: a random secret kept in `<dataDir>/dashboard.token`, readable
 * only by the user that runs Outpost. Whoever can read that file is an operator of this gateway
 * already (it holds the store, the identities and their keys), so the file is the credential.
 *
 * A browser signs in once with the token and gets a session cookie: `<expiresAtMs>.<mac>`, the
 * MAC being HMAC-SHA256 over the expiry keyed by the token. Nothing is kept on the server, and
 * rotating the token (`outpost dashboard url --rotate`) ends every session at once.
 *
 * The file is read on each check (a few dozen bytes; the dashboard makes a handful of requests
 * per page), so a rotation by the CLI applies without telling the hub.
 */
export class DashboardToken {
  readonly file: string;

  /**
   * `fileName` and `errorCode` name another token of the same kind: the operator API's
   * (`api.token`, src/hub/control/operator-api-route.ts) is a second secret, so that the
   * dashboard's read-only sign-in link never grants writes.
   */
  constructor(
    dataDir: string,
    fileName = DASHBOARD_TOKEN_FILE,
    private readonly errorCode: 'OUTPOST_DASHBOARD_TOKEN_UNAVAILABLE' | 'OUTPOST_API_TOKEN_UNAVAILABLE' = 'OUTPOST_DASHBOARD_TOKEN_UNAVAILABLE',
  ) {
    this.file = join(dataDir, fileName);
  }

  /** The current token, or undefined when there is none (or it cannot be read). */
  read(): string | undefined {
    try {
      const text = readFileSync(this.file, 'utf8').trim();
      return text === '' ? undefined : text;
    } catch {
      return undefined;
    }
  }

  /** The token, made first if there is none. Throws OUTPOST_DASHBOARD_TOKEN_UNAVAILABLE. */
  ensure(): string {
    return this.read() ?? this.rotate();
  }

  /** A new token replaces the old one (every session ends). Throws OUTPOST_DASHBOARD_TOKEN_UNAVAILABLE. */
  rotate(): string {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      // Written whole under another name, then renamed: a hub reading meanwhile sees the old
      // token or the new one, never half of one.
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, `${token}\n`);
      } finally {
        closeSync(fd);
      }
      // The CLI may run as root for a hub that runs as its own user: the file goes to the owner
      // of the data directory, or that hub could not read it.
      if (process.getuid?.() === 0) {
        const owner = statSync(join(this.file, '..'));
        chownSync(temporary, owner.uid, owner.gid);
      }
      renameSync(temporary, this.file);
    } catch (cause) {
      throw new OutpostError(this.errorCode, `cannot write the token file ${this.file}: ${(cause as Error).message}`, { cause, details: { file: this.file } });
    }
    return token;
  }

  /** Whether `candidate` is the current token (constant time). */
  matches(candidate: string): boolean {
    const token = this.read();
    return token !== undefined && equalText(candidate, token);
  }

  /** A session cookie value valid until `expiresAtMs`, or undefined when there is no token. */
  session(expiresAtMs: number): string | undefined {
    const token = this.read();
    return token === undefined ? undefined : `${expiresAtMs}.${mac(token, expiresAtMs)}`;
  }

  /** Whether a session cookie value was made with the current token and has not expired. */
  validSession(value: string, nowMs: number): boolean {
    const dot = value.indexOf('.');
    if (dot <= 0) return false;
    const expiresAtMs = Number(value.slice(0, dot));
    if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs <= nowMs) return false;
    const token = this.read();
    return token !== undefined && equalText(value.slice(dot + 1), mac(token, expiresAtMs));
  }
}

function mac(token: string, expiresAtMs: number): string {
  return createHmac('sha256', token).update(`outpost-dashboard-session:${expiresAtMs}`).digest('base64url');
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
