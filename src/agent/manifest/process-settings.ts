import { isAbsolute, resolve } from 'node:path';
import { parseDurationMs } from '../../config/index.js';
import { expandInstallDir } from './install-dir.js';

/**
 * How the process runtime runs a module: `settings.process` of a module in the manifest.
 *
 *   "settings": { "process": {
 *     "command": "node",                       // required; "node" is the Node.js running Outpost
 *     "args": ["modules/dist/temp-sensor/main.js"],   // relative paths: against cwd, as a shell would
 *     "cwd": "${OUTPOST_INSTALL_DIR}",         // relative to the manifest's folder; default: that folder
 *     "healthcheck": { "test": ["CMD", "node", "probe.js"], "interval": "5s", "timeout": "2s",
 *                      "retries": 3, "startPeriod": "0s" }
 *   } }
 *
 * `${OUTPOST_INSTALL_DIR}` in cwd, command or args stands for the folder Outpost is installed in
 * (install-dir.ts), so a manifest that names programs shipped with Outpost works from any folder.
 * A relative `cwd` is resolved against the folder of the manifest file (for `outpost deploy`, the
 * file named on its command line), like relative paths of a compose file.
 *
 * The module's environment is its manifest `env` plus its identity (IOTEDGE_*) plus, from the
 * agent's own environment, only PATH, HOME, USER, LANG, LC_ALL, TZ and TMPDIR.
 * `healthcheck` follows Docker's HEALTHCHECK: `["CMD", exe, ...args]` or `["CMD-SHELL", "script"]`,
 * unhealthy after `retries` consecutive failures outside the start period.
 */
export interface ProcessSettings {
  readonly command: string;
  readonly args: readonly string[];
  /** Absolute working directory. */
  readonly cwd: string;
  readonly healthcheck: ProcessHealthcheck | undefined;
}

export interface ProcessHealthcheck {
  /** Executable and arguments (CMD-SHELL is turned into ["/bin/sh", "-c", script]). */
  readonly command: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };

export type ProcessSettingsResult = { ok: true; settings: ProcessSettings } | { ok: false; field: string; message: string };

export function readProcessSettings(value: unknown, baseDir: string): ProcessSettingsResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, field: '', message: 'must be an object {command, args?, cwd?, healthcheck?}' };
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!['command', 'args', 'cwd', 'healthcheck'].includes(key)) return { ok: false, field: `.${key}`, message: 'unknown key (allowed: command, args, cwd, healthcheck; the environment comes from the module\'s env)' };
  }
  if (typeof raw.command !== 'string' || raw.command.trim() === '') return { ok: false, field: '.command', message: 'required non-empty string' };
  if (raw.args !== undefined && (!Array.isArray(raw.args) || raw.args.some((a) => typeof a !== 'string'))) return { ok: false, field: '.args', message: 'must be an array of strings' };
  if (raw.cwd !== undefined && (typeof raw.cwd !== 'string' || raw.cwd === '')) return { ok: false, field: '.cwd', message: 'must be a non-empty string' };
  let healthcheck: ProcessHealthcheck | undefined;
  if (raw.healthcheck !== undefined) {
    const parsed = readHealthcheck(raw.healthcheck);
    if (!parsed.ok) return { ok: false, field: `.healthcheck${parsed.field}`, message: parsed.message };
    healthcheck = parsed.healthcheck;
  }
  const rawCwd = typeof raw.cwd === 'string' ? expandInstallDir(raw.cwd) : undefined;
  const cwd = rawCwd === undefined ? baseDir : isAbsolute(rawCwd) ? rawCwd : resolve(baseDir, rawCwd);
  const args = ((raw.args as string[] | undefined) ?? []).map(expandInstallDir);
  return { ok: true, settings: { command: expandInstallDir(raw.command), args, cwd, healthcheck } };
}

function readHealthcheck(value: unknown): { ok: true; healthcheck: ProcessHealthcheck } | { ok: false; field: string; message: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, field: '', message: 'must be an object {test, interval?, timeout?, retries?, startPeriod?}' };
  const raw = value as Record<string, unknown>;
  const test = raw.test;
  if (!Array.isArray(test) || test.length < 2 || test.some((t) => typeof t !== 'string')) {
    return { ok: false, field: '.test', message: 'must be ["CMD", executable, ...args] or ["CMD-SHELL", script]' };
  }
  const [kind, ...rest] = test as string[];
  let command: string[];
  if (kind === 'CMD') command = rest;
  else if (kind === 'CMD-SHELL') command = ['/bin/sh', '-c', rest.join(' ')];
  else return { ok: false, field: '.test[0]', message: 'must be "CMD" or "CMD-SHELL"' };
  const out: Record<string, number> = { ...HEALTH_DEFAULTS };
  for (const [key, field] of [['interval', 'intervalMs'], ['timeout', 'timeoutMs'], ['startPeriod', 'startPeriodMs']] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseDurationMs(v) : undefined;
    if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (key !== 'startPeriod' && ms === 0)) {
      return { ok: false, field: `.${key}`, message: 'must be a duration such as "5s" or a number of milliseconds (interval and timeout above 0)' };
    }
    out[field] = ms;
  }
  if (raw.retries !== undefined) {
    if (!Number.isInteger(raw.retries) || (raw.retries as number) < 1) return { ok: false, field: '.retries', message: 'must be an integer of at least 1' };
    out.retries = raw.retries as number;
  }
  return { ok: true, healthcheck: { command, intervalMs: out.intervalMs!, timeoutMs: out.timeoutMs!, retries: out.retries!, startPeriodMs: out.startPeriodMs! } };
}
