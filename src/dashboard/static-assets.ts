import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The page's files: plain HTML, CSS, JavaScript and SVG under `assets/dashboard/` at the package
 * root (package.json "files" ships them; no build step, nothing fetched from elsewhere). From
 * `dist/src/dashboard/` that is three levels up, in the repository and in the installed package.
 */
export const ASSETS_DIR = fileURLToPath(new URL('../../../assets/dashboard/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticAsset {
  readonly name: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** Every asset, read once at start (a few kilobytes in all). */
export class StaticAssets {
  private readonly byName = new Map<string, StaticAsset>();

  constructor(dir: string = ASSETS_DIR) {
    for (const name of readdirSync(dir)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType === undefined) continue;
      const body = readFileSync(join(dir, name));
      this.byName.set(name, { name, body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` });
    }
  }

  get(name: string): StaticAsset | undefined {
    return this.byName.get(name);
  }

  /** Total bytes of the shipped assets (docs/dashboard.md reports it; a test keeps it small). */
  get totalBytes(): number {
    let total = 0;
    for (const asset of this.byName.values()) total += asset.body.length;
    return total;
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}
