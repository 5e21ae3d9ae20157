import { existsSync, statfsSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import type { OutpostConfig } from '../config/index.js';
import { result, type CheckResult } from './check-result.js';

/** An engine gets this long to answer /_ping. */
const ENGINE_TIMEOUT_MS = 5_000;
/** Below this multiple of store.minFreeDisk, free space is a warning: the hub refuses messages at 1×. */
const DISK_WARN_FACTOR = 2;
/** No clock running Outpost can be earlier than its first release year. */
const CLOCK_FLOOR_MS = Date.parse('2026-01-01T00:00:00Z');
/** Files written later than now by more than this mean the clock went back. */
const CLOCK_SKEW_TOLERANCE_MS = 5 * 60 * 1000;

/** Free disk space for the store (and the broker state in the data directory) against store.minFreeDisk. */
export function diskCheck(config: OutpostConfig): CheckResult {
  const id = 'store-disk-space';
  const title = 'disk space for the store';
  const dir = config.store.persistent ? config.store.dir : config.dataDir;
  const existing = nearestExisting(dir);
  const free = freeBytesUnder(existing);
  if (free === undefined) return result(id, title, 'fail', `cannot read the free space under ${existing}`, 'check that the directory is readable by this user');
  const min = config.store.minFreeDisk;
  const found = `${humanBytes(free)} free under ${dir}${existing === dir ? '' : ` (on the file system of ${existing})`}, store.minFreeDisk ${humanBytes(min)}`;
  const hint = 'free space on that file system, move the store (store.dir) to a larger one, or lower store.minFreeDisk (the hub refuses new messages below it)';
  if (free < min) return result(id, title, 'fail', `${found}: the hub would refuse new messages (OUTPOST_STORE_DISK_FULL)`, hint);
  if (free < DISK_WARN_FACTOR * min) return result(id, title, 'warn', `${found}: less than ${DISK_WARN_FACTOR}× the minimum`, hint);
  return result(id, title, 'pass', found);
}

/**
 * Clock sanity without the network (a gateway may be offline): not before Outpost existed, and
 * not behind the files this data directory was given (a clock that went back, after a lost RTC
 * battery, makes SAS tokens, message TTLs and certificates look invalid).
 */
export function clockCheck(config: OutpostConfig, nowMs: number): CheckResult {
  const id = 'clock';
  const title = 'clock sanity';
  const hint = 'set the time and keep it synchronised (timedatectl set-ntp true, chrony or systemd-timesyncd): SAS tokens, message TTLs and certificate validity depend on it';
  if (nowMs < CLOCK_FLOOR_MS) return result(id, title, 'fail', `the clock says ${new Date(nowMs).toISOString()}, before ${new Date(CLOCK_FLOOR_MS).toISOString().slice(0, 10)}`, hint);
  const files = ['hub.lock', join('agent', 'reported.json'), join('agent', 'state.json'), join('certs', 'server.pem'), join('store', 'store.json')].map((f) => join(config.dataDir, f));
  let newest: { file: string; mtimeMs: number } | undefined;
  for (const file of files) {
    try {
      const mtimeMs = statSync(file).mtimeMs;
      if (newest === undefined || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
    } catch {
      // not there: nothing to compare
    }
  }
  if (newest !== undefined && newest.mtimeMs - nowMs > CLOCK_SKEW_TOLERANCE_MS) {
    const minutes = Math.round((newest.mtimeMs - nowMs) / 60_000);
    return result(id, title, 'warn', `the clock went back: ${newest.file} was written ${minutes} minute(s) after now (${new Date(newest.mtimeMs).toISOString()})`, hint);
  }
  return result(id, title, 'pass', `${new Date(nowMs).toISOString()}${newest === undefined ? '' : `, not behind the data directory's files`} (not compared with NTP: a gateway may be offline)`);
}

/** The container engine answering /_ping, when the docker runtime is configured. */
export async function containerEngineCheck(config: OutpostConfig): Promise<CheckResult> {
  const id = 'container-engine';
  const title = 'container engine reachable';
  if (config.agent.runtime !== 'docker') return result(id, title, 'skip', `not needed: agent.runtime=${config.agent.runtime} runs modules as processes`);
  const socketPath = config.agent.dockerSocket;
  const answer = await new Promise<{ status: number; body: string } | string>((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', agent: false, timeout: ENGINE_TIMEOUT_MS }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', (error) => resolve(error.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ENGINE_TIMEOUT_MS} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
  const hint = `start the engine (systemctl start docker, or podman's API: systemctl start podman.socket) or point agent.dockerSocket at its socket; a permission error needs the user in the engine's group`;
  if (typeof answer === 'string') return result(id, title, 'fail', `${socketPath}: ${answer}`, hint);
  if (answer.status !== 200) return result(id, title, 'fail', `${socketPath}: /_ping answered ${answer.status} ${answer.body.slice(0, 200)}`, hint);
  return result(id, title, 'pass', `${socketPath} answers (/_ping ${answer.body.trim()})`);
}

/** Outpost has no upstream link yet: said plainly, with what happens to upstream-bound messages. */
export function upstreamCheck(routesToUpstream: boolean): CheckResult {
  return result(
    'upstream',
    'upstream IoT Hub reachable',
    'skip',
    `not configured: Outpost has no upstream link yet${routesToUpstream ? '; messages routed to $upstream wait in the store until their time-to-live' : ''}`,
  );
}

/** Bytes an unprivileged writer may still use there (bavail, as the hub's own disk-full test reads it). */
function freeBytesUnder(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/** 1.5 GiB, 300.0 MiB: readable at a glance, unlike exact-unit sizes. */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function nearestExisting(dir: string): string {
  let current = dir;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}
