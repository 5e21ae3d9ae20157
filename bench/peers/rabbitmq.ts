// RabbitMQ (Debian's rabbitmq-server 3.10) with its rabbitmq_amqp1_0 plugin: the AMQP 1.0 peer of
// the amqp-* scenarios. (Debian's ActiveMQ 5.17 cannot be the peer: its package has no AMQP
// transport, only the protocol detector; the AMQP module needs proton-j, which Debian lacks.)
//
// Started fresh per scenario like Mosquitto: a node of its own (name, Erlang distribution and epmd
// ports all chosen free, so nothing of a system-wide RabbitMQ is touched), data, logs, cookie
// (HOME) and a self-signed certificate in a temporary directory; one listener, AMQP over TLS on
// loopback (AMQP 0-9-1 and 1.0 share it, told apart by the protocol header); clients log in as
// `guest` (SASL PLAIN; allowed on loopback). The Erlang VM runs in the foreground in place of
// the script (RABBITMQ_ALLOW_INPUT), so the pid the harness reads /proc of is the VM's. Stopped
// with SIGTERM; its epmd is stopped after it, and the directory removed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { freePorts, stopChild, TargetUnavailable, waitForListen, type RunningTarget } from '../lib/targets.js';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
/** RabbitMQ's default user, allowed from loopback only: what the generator logs in as. */
export const RABBITMQ_USER = 'guest';
export const RABBITMQ_PASSWORD = 'guest';
/** The first boot creates its database: slower than a broker's usual start. */
const BOOT_TIMEOUT_MS = 60_000;

function rabbitmqVersion(): string | null {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** A self-signed certificate for `localhost` (the peer's only name here); returns its files. */
function selfSignedCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const result = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { encoding: 'utf8' });
  if (result.status !== 0) throw new TargetUnavailable('rabbitmq', `openssl could not make a certificate: ${result.stderr.trim()}`);
  return { certFile, keyFile };
}

/** Resolves once a TLS handshake with the listener completes (the listener is up and serving TLS). */
async function waitForTls(port: number, caPem: string, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost' }, () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new TargetUnavailable('rabbitmq', `no TLS handshake on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startRabbitmq(): Promise<RunningTarget> {
  if (!existsSync(SERVER)) throw new TargetUnavailable('rabbitmq', 'rabbitmq-server not installed (run scripts/install-bench-deps.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-rabbitmq-'));
  const [port, distPort, epmdPort] = (await freePorts(3)) as [number, number, number];
  const { certFile, keyFile } = selfSignedCertificate(dir);
  const config = [
    'listeners.tcp = none',
    `listeners.ssl.1 = 127.0.0.1:${port}`,
    `ssl_options.certfile = ${certFile}`,
    `ssl_options.keyfile = ${keyFile}`,
    `ssl_options.cacertfile = ${certFile}`,
    'ssl_options.verify = verify_none',
    'ssl_options.fail_if_no_peer_cert = false',
    'log.console = true',
    'log.console.level = warning',
    'log.file = false',
  ];
  writeFileSync(join(dir, 'rabbitmq.conf'), `${config.join('\n')}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_amqp1_0].\n');
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_NODENAME: `outpostbench${port}@localhost`,
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_ALLOW_INPUT: '1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-noinput',
  };
  const child = spawn(SERVER, [], { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: dir });
  child.stdout?.resume();
  child.stderr?.resume();
  const cleanup = (): void => {
    // Its own epmd (ERL_EPMD_PORT), started by the VM as a daemon: stopped by port, nothing else.
    spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { env, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = stopChild(child, cleanup);
  const caPem = readFileSync(certFile, 'utf8');
  try {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    await waitForListen('127.0.0.1', port, child, 'rabbitmq').catch(async () => {
      // waitForListen's own deadline is shorter than a first boot: keep waiting to ours.
      await waitForTls(port, caPem, deadline);
    });
    await waitForTls(port, caPem, deadline);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: 'rabbitmq', host: '127.0.0.1', port, pid: child.pid, version: rabbitmqVersion(), amqpTls: { port, caPem }, stop };
}
