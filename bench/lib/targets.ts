// Brokers under test. Each named target is started fresh as a child process for every scenario
// (so VmHWM is that scenario's peak) on a free loopback port; `host:port` is an already running
// broker that the harness only connects to (no pid, so no RSS or CPU figures).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openConnection } from '../loadgen/connection.js';
import { DISCONNECT } from '../loadgen/mqtt-wire.js';
import { startRabbitmq } from '../peers/rabbitmq.js';
import { createLogger } from '../../src/log/index.js';
import { ensureDevCertificates } from '../../src/tls/index.js';

export const NAMED_TARGETS = ['outpost', 'mosquitto', 'aedes'] as const;
export type NamedTarget = (typeof NAMED_TARGETS)[number];
/**
 * AMQP 1.0 peers (bench/peers): named only by --target, never a default target, and probed with a
 * TLS connect instead of an MQTT CONNECT; only the amqp-* scenarios run against them.
 */
export const AMQP_PEER_TARGETS = ['rabbitmq'] as const;
/**
 * Floors, not brokers: `node-floor` (bench/peers/node-floor-server.ts) accepts, answers CONNECT
 * with CONNACK and nothing else, to show what a storm costs Node itself. Named only by --target.
 */
export const FLOOR_TARGETS = ['node-floor'] as const;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const AEDES_SERVER = fileURLToPath(new URL('../peers/aedes-server.js', import.meta.url));
const NODE_FLOOR_SERVER = fileURLToPath(new URL('../peers/node-floor-server.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;

export interface TargetOptions {
  /** Mosquitto's max_inflight_messages; undefined keeps its default (20). */
  readonly mosquittoMaxInflight?: number;
  /** Extra arguments for `outpost hub`. */
  readonly outpostArgs?: readonly string[];
  /** Extra arguments for the hub's `node` (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
  readonly outpostNodeArgs?: readonly string[];
  /**
   * Prepares the fresh data directory of an Outpost hub before it starts (identities, a
   * deployment manifest) and returns more `outpost hub` arguments: a scenario's outpostSetup.
   */
  readonly outpostSetup?: (dataDir: string) => readonly string[];
  /**
   * The Outpost build to run: a directory holding bin/outpost.js, dist/ and node_modules/ (the
   * gate's baseline build of another commit). Default: this repository.
   */
  readonly outpostRoot?: string;
}

export interface RunningTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The broker's process, when the harness started it. */
  readonly pid: number | undefined;
  readonly version: string | null;
  /** The MQTT-over-TLS listener and the CA that verifies it, when the harness started Outpost or Mosquitto. */
  readonly mqttTls?: { readonly port: number; readonly caPem: string };
  /** Its AMQP-over-TLS listener (Outpost's 5671, an AMQP peer's) and the CA that verifies it. */
  readonly amqpTls?: { readonly port: number; readonly caPem: string };
  /** Outpost's HTTPS listener, which also serves MQTT and AMQP over WebSocket, and its CA. */
  readonly httpsTls?: { readonly port: number; readonly caPem: string };
  /** The Outpost build it runs (TargetOptions.outpostRoot), when the harness started Outpost: a scenario's second hub starts from it too. */
  readonly outpostRoot?: string;
  stop(): Promise<void>;
}

/** Thrown when a target cannot be started or does not speak MQTT yet. */
export class TargetUnavailable extends Error {
  constructor(readonly target: string, readonly reason: string) {
    super(`target ${target} unavailable: ${reason}`);
  }
}

export function mosquittoBinary(): string | undefined {
  for (const path of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) if (existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** `count` distinct free loopback ports: each is held until all are picked. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address !== null ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

/** Mosquitto's TLS listener: its port and the files of a CA and server certificate. */
export interface MosquittoTls {
  readonly port: number;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * The Mosquitto configuration the harness runs: loopback only, anonymous, nothing persisted; with
 * `tls`, a second listener (MQTT over TLS, as 8883) that asks for no client certificate.
 */
export function mosquittoConfig(port: number, options: TargetOptions = {}, tls?: MosquittoTls): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    // The default (1000) would drop QoS 1 messages queued for a subscriber that the 20-message
    // in-flight default holds back; large enough that nothing is dropped in a bounded run.
    'max_queued_messages 10000000',
    'max_connections -1',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ];
  if (options.mosquittoMaxInflight !== undefined) lines.push(`max_inflight_messages ${options.mosquittoMaxInflight}`);
  // Listener options follow their `listener` line, so the TLS listener comes last.
  // Started as root, Mosquitto drops to its own user before it reads the key, which the dev CA
  // writes mode 0600 into a 0700 directory: `user root` keeps it able to read it (loopback only).
  if (tls !== undefined) lines.push('user root', `listener ${tls.port} 127.0.0.1`, `cafile ${tls.caFile}`, `certfile ${tls.certFile}`, `keyfile ${tls.keyFile}`, 'require_certificate false');
  return `${lines.join('\n')}\n`;
}

/** Resolves with the first stdout JSON line matching `predicate`. */
function waitForLine(child: ChildProcess, name: string, predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => finish(new TargetUnavailable(name, `no ready line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const onData = (chunk: string): void => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (predicate(line)) return finish(undefined, line);
        } catch {
          // Not JSON: ignore.
        }
        newline = buffer.indexOf('\n');
      }
    };
    const onStderr = (chunk: string): void => {
      stderr = (stderr + chunk).slice(-2000);
    };
    const onExit = (code: number | null): void => finish(new TargetUnavailable(name, `exited with ${String(code)} before ready: ${stderr.trim()}`));
    const finish = (error?: Error, line?: Record<string, unknown>): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onStderr);
      child.off('exit', onExit);
      if (error !== undefined) reject(error);
      else resolve(line ?? {});
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', onStderr);
    child.once('exit', onExit);
  });
}

/** Resolves once a TCP connection to host:port succeeds. */
export async function waitForListen(host: string, port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new TargetUnavailable(name, `exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = openConnection({ host, port, clientId: 'bench-probe-listen', keepAliveSec: 0, timeoutMs: 500 }, () => undefined);
      c.socket.once('connect', () => {
        c.socket.destroy();
        resolve(true);
      });
      c.ready.catch(() => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new TargetUnavailable(name, `nothing listening on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Connects one MQTT client and waits for CONNACK; throws TargetUnavailable when that fails. */
export async function probeMqtt(name: string, host: string, port: number, timeoutMs = 3000): Promise<void> {
  const c = openConnection({ host, port, clientId: 'bench-probe', keepAliveSec: 0, timeoutMs }, () => undefined);
  try {
    await c.ready;
  } catch (error) {
    c.socket.destroy();
    throw new TargetUnavailable(name, `no MQTT CONNACK on ${host}:${port} (${error instanceof Error ? error.message : String(error)})`);
  }
  c.socket.end(DISCONNECT);
}

export function stopChild(child: ChildProcess, cleanup?: () => void): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        cleanup?.();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
}

/** Tries at starting Mosquitto, each on a fresh pair of ports (startMosquitto). */
const MOSQUITTO_START_ATTEMPTS = 3;

async function startMosquitto(options: TargetOptions): Promise<RunningTarget> {
  const binary = mosquittoBinary();
  if (binary === undefined) throw new TargetUnavailable('mosquitto', 'mosquitto not installed (run scripts/install-bench-deps.sh)');
  // The ports are free when picked and taken when Mosquitto binds them, and in between the
  // benchmark's own clients open thousands of connections from the same ephemeral range: a bind
  // that loses that race makes Mosquitto exit with 1 (one CI gate run was lost to it). A fresh
  // pair of ports on each of a few tries.
  let lastError: unknown;
  for (let attempt = 1; attempt <= MOSQUITTO_START_ATTEMPTS; attempt++) {
    try {
      return await startMosquittoOnce(binary, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}


async function startMosquittoOnce(binary: string, options: TargetOptions): Promise<RunningTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-mosquitto-'));
  const [port, tlsPort] = await freePorts(2);
  // The same kind of certificates as Outpost's own TLS listener (its development CA: EC P-256),
  // made the same way, so a TLS storm compares like with like.
  const dev = ensureDevCertificates({ dataDir: dir, hostnames: [], logger: createLogger({ level: 'silent' }) });
  // certFile is the server certificate and the CA, the chain Outpost's listener sends too.
  const tls: MosquittoTls = { port: tlsPort!, caFile: dev.caFile, certFile: dev.certFile, keyFile: dev.keyFile };
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, mosquittoConfig(port!, options, tls));
  const version = spawnSync(binary, ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0]?.replace(/^mosquitto version /, '') ?? null;
  const child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Its error lines say why it exited (a port in use, a certificate it cannot read).
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  child.stdout?.resume();
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await waitForListen('127.0.0.1', port!, child, 'mosquitto');
  } catch (error) {
    await stopChild(child, cleanup)();
    const said = stderr.trim();
    throw said === '' || !(error instanceof TargetUnavailable) ? error : new TargetUnavailable('mosquitto', `${error.reason}: ${said}`);
  }
  return { name: 'mosquitto', host: '127.0.0.1', port: port!, pid: child.pid, version, mqttTls: { port: tls.port, caPem: dev.caPem }, stop: stopChild(child, cleanup) };
}

/** A Node server of bench/peers that prints `{"event":"<name>.ready","port":N,"version":…}`. */
async function startNodePeer(name: string, script: string): Promise<RunningTarget> {
  const child = spawn(process.execPath, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await waitForLine(child, name, (l) => l['event'] === `${name}.ready`);
    return { name, host: '127.0.0.1', port: Number(line['port']), pid: child.pid, version: String(line['version'] ?? ''), stop: stopChild(child) };
  } catch (error) {
    await stopChild(child)();
    throw error;
  }
}

async function startOutpost(options: TargetOptions): Promise<RunningTarget> {
  const root = options.outpostRoot ?? REPO_ROOT;
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new TargetUnavailable('outpost', `${join(root, 'dist')} is not built (npx tsc -p .)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-bench-hub-'));
  // The same footing as the peers: anonymous clients on the loopback plain listener. The log
  // level stays the default: hub.ready, which gives the port, is an info line.
  let setupArgs: readonly string[];
  try {
    setupArgs = options.outpostSetup?.(dataDir) ?? [];
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const args = [...(options.outpostNodeArgs ?? []), join(root, 'bin', 'outpost.js'), 'hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--mqtt-plain-port', '0', '--allow-anonymous', ...setupArgs, ...(options.outpostArgs ?? [])];
  // The operator's OUTPOST_* tuning passes through (that is how a hub is tuned for a run); the
  // harness's own OUTPOST_BENCH_* would be rejected by the hub as unknown variables.
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('OUTPOST_BENCH')) env[key] = value;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: root });
  const cleanup = (): void => rmSync(dataDir, { recursive: true, force: true });
  try {
    const line = await waitForLine(child, 'outpost', (l) => l['event'] === 'hub.ready');
    const ports = line['ports'] as Record<string, unknown> | undefined;
    const port = Number(ports?.['mqttPlain']);
    if (!Number.isInteger(port) || port <= 0) throw new TargetUnavailable('outpost', 'hub.ready reported no mqttPlain port');
    const tlsPort = Number(ports?.['mqtt']);
    const caFile = line['caFile'];
    const caPem = typeof caFile === 'string' ? readFileSync(caFile, 'utf8') : undefined;
    const tlsListener = (value: unknown) => (Number.isInteger(Number(value)) && Number(value) > 0 && caPem !== undefined ? { port: Number(value), caPem } : undefined);
    const mqttTls = tlsListener(tlsPort);
    const amqpTls = tlsListener(ports?.['amqp']);
    const httpsTls = tlsListener(ports?.['https']);
    // The hub keeps logging to stdout; keep reading so a full pipe never stalls it.
    child.stdout?.resume();
    child.stderr?.resume();
    return {
      name: 'outpost',
      host: '127.0.0.1',
      port,
      pid: child.pid,
      version: typeof line['version'] === 'string' ? line['version'] : null,
      ...(mqttTls === undefined ? {} : { mqttTls }),
      ...(amqpTls === undefined ? {} : { amqpTls }),
      ...(httpsTls === undefined ? {} : { httpsTls }),
      outpostRoot: root,
      stop: stopChild(child, cleanup),
    };
  } catch (error) {
    await stopChild(child, cleanup)();
    throw error;
  }
}

/** Parses `host:port` (IPv6 in brackets), or undefined when `spec` is not one. */
export function parseHostPort(spec: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(spec);
  if (match === null) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65_536 ? { host: match[1]!, port } : undefined;
}

/** Starts (or, for host:port, just checks) a target, and proves it answers MQTT CONNECT. */
export async function startTarget(spec: string, options: TargetOptions = {}): Promise<RunningTarget> {
  let target: RunningTarget;
  if (spec === 'mosquitto') target = await startMosquitto(options);
  else if (spec === 'aedes') target = await startNodePeer('aedes', AEDES_SERVER);
  else if (spec === 'node-floor') target = await startNodePeer('node-floor', NODE_FLOOR_SERVER);
  else if (spec === 'outpost') target = await startOutpost(options);
  else if (spec === 'rabbitmq') return startRabbitmq(); // AMQP only: its start waits for a TLS handshake
  else {
    const hp = parseHostPort(spec);
    if (hp === undefined) throw new Error(`unknown target "${spec}": use ${NAMED_TARGETS.join(', ')} or host:port`);
    target = { name: spec, host: hp.host, port: hp.port, pid: undefined, version: null, stop: async () => undefined };
  }
  try {
    await probeMqtt(target.name, target.host, target.port);
  } catch (error) {
    await target.stop();
    throw error;
  }
  return target;
}
