import { fileURLToPath } from 'node:url';

/**
 * The folder Outpost is installed in (the one holding its package.json, `dist/` and
 * `deployment/`). This file compiles to dist/src/agent/manifest/, four levels below it.
 */
export const INSTALL_DIR = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');

/**
 * Written in a process module's `cwd`, `command` or `args`, this stands for INSTALL_DIR. It is
 * not an environment variable and nothing can override it: the embedded manifest's sample modules
 * use it, so a copy of that manifest in any folder still finds them.
 */
export const INSTALL_DIR_PLACEHOLDER = '${OUTPOST_INSTALL_DIR}';

export function expandInstallDir(text: string): string {
  return text.split(INSTALL_DIR_PLACEHOLDER).join(INSTALL_DIR);
}
