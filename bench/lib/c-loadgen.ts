// Builds the C load generator (bench/loadgen/mqtt-loadgen.c) with the system C compiler when its
// binary is missing or older than its sources, and turns a ChildConfig into its command line.
// The binary goes to dist/bench/loadgen/ (build output, not committed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildConfig } from '../loadgen/protocol.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCES = [join(REPO_ROOT, 'bench', 'loadgen', 'mqtt-loadgen.c'), join(REPO_ROOT, 'bench', 'loadgen', 'mqtt-loadgen-roles.h'), join(REPO_ROOT, 'bench', 'loadgen', 'mqtt-loadgen-tls.h')];
export const C_LOADGEN_BINARY = fileURLToPath(new URL('../loadgen/mqtt-loadgen', import.meta.url));

let built: string | Error | undefined;

/** Path of an up-to-date binary, or an Error saying why it could not be built. Built once per run. */
export function buildCLoadgen(): string | Error {
  if (built !== undefined) return built;
  built = (() => {
    if (!SOURCES.every((s) => existsSync(s))) return new Error(`C load generator sources missing (${SOURCES.join(', ')})`);
    const newest = Math.max(...SOURCES.map((s) => statSync(s).mtimeMs));
    if (existsSync(C_LOADGEN_BINARY) && statSync(C_LOADGEN_BINARY).mtimeMs >= newest) return C_LOADGEN_BINARY;
    mkdirSync(dirname(C_LOADGEN_BINARY), { recursive: true });
    const cc = process.env['CC'] ?? 'cc';
    // Build beside the target and rename: test files run in parallel may build at the same time,
    // and none must execute a half-written binary.
    const temporary = `${C_LOADGEN_BINARY}.${process.pid}.tmp`;
    const result = spawnSync(cc, ['-O2', '-Wall', '-o', temporary, SOURCES[0]!, '-lssl', '-lcrypto'], { encoding: 'utf8' });
    if (result.error !== undefined) return new Error(`cannot run ${cc}: ${result.error.message}`);
    if (result.status !== 0) return new Error(`${cc} failed: ${result.stderr.trim()}`);
    renameSync(temporary, C_LOADGEN_BINARY);
    return C_LOADGEN_BINARY;
  })();
  return built;
}

/** The C generator's arguments for a child configuration (see the usage in mqtt-loadgen.c). */
export function cLoadgenArgs(config: ChildConfig): string[] {
  const common = [`host=${config.host}`, `port=${config.port}`];
  switch (config.role) {
    case 'publisher':
      return ['publisher', ...common, `id=${config.clientId}`, `topic=${config.topic}`, `qos=${config.qos}`, `payload=${config.payloadBytes}`, `seed=${config.seed}`, `index=${config.index}`, `batch=${config.batch}`, `pings=${config.pingsInFlight}`, `window=${config.window}`, `refill=${config.refillMin}`, ...(config.topics === undefined ? [] : [`topics=${config.topics}`])];
    case 'subscriber':
      return ['subscriber', ...common, `idprefix=${config.clientIdPrefix}`, `first=${config.first}`, `count=${config.count}`, `filter=${config.filter}`, `qos=${config.qos}`];
    case 'module-publisher':
    case 'module-subscriber':
      throw new Error(`the C load generator has no ${config.role} role (it needs TLS); the Node one runs it`);
    case 'storm':
      return [
        'storm',
        ...common,
        `idprefix=${config.clientIdPrefix}`, `clients=${config.clients}`, `concurrency=${config.concurrency}`, `keepalive=${config.keepAliveSec}`, `seed=${config.seed}`, ...(config.credentialsFile === undefined ? [] : [`credentials=${config.credentialsFile}`]),
        ...(config.tls === undefined ? [] : ['tls=1', `ca=${config.tls.caFile}`, ...(config.tls.sessionsIn === undefined ? [] : [`sessin=${config.tls.sessionsIn}`]), ...(config.tls.sessionsOut === undefined ? [] : [`sessout=${config.tls.sessionsOut}`])]),
      ];
  }
}
