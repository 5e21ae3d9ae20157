import { createServer, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { OutpostConfig } from '../config/index.js';
import { result, type CheckResult, type CheckStatus } from './check-result.js';
import type { HubListenPorts, RunningHub } from './running-hub.js';

/** A probe gets this long to connect (and, on a TLS port, finish the handshake). */
const PROBE_TIMEOUT_MS = 5_000;

interface Listener {
  readonly name: keyof HubListenPorts;
  readonly label: string;
  readonly tls: boolean;
  readonly enabled: boolean;
  readonly host: string | null;
  readonly port: number;
}

function listeners(config: OutpostConfig): Listener[] {
  return [
    { name: 'mqtt', label: 'MQTT (TLS)', tls: true, enabled: config.mqtt.enabled, host: config.mqtt.host, port: config.mqtt.port },
    { name: 'amqp', label: 'AMQP (TLS)', tls: true, enabled: config.amqp.enabled, host: config.amqp.host, port: config.amqp.port },
    { name: 'https', label: 'HTTPS/WebSocket', tls: true, enabled: config.https.enabled, host: config.https.host, port: config.https.port },
    { name: 'mqttPlain', label: 'MQTT (plain)', tls: false, enabled: config.mqttPlain.enabled, host: config.mqttPlain.host, port: config.mqttPlain.port },
  ];
}

/** Data directory not in use by a process other than the hub serving it (the data-dir lock, src/fs). */
export function dataDirCheck(config: OutpostConfig, hub: RunningHub): CheckResult {
  const id = 'data-dir-lock';
  const title = 'data directory not in use by another process';
  const { holder, status } = hub;
  if (holder === undefined) return result(id, title, 'pass', `${config.dataDir} is free (no live process holds hub.lock)`);
  const who = `process ${holder.pid} (outpost ${holder.command}, started ${holder.startedAt})`;
  if (status !== undefined && status.pid === holder.pid) {
    return result(id, title, 'pass', `held by the hub serving it: ${who}; a second \`outpost run\` or \`outpost hub\` on it is refused (OUTPOST_DATA_DIR_IN_USE)`);
  }
  return result(
    id,
    title,
    'fail',
    `${config.dataDir} is in use by ${who}, which does not answer as its hub (hub.sock)`,
    'a hub still starting answers within seconds; otherwise stop that process (it may be hung, or an `outpost store backup|restore`) or give this hub another --data-dir',
  );
}

/**
 * The hub reachable on each enabled port (Azure: "Edge Hub can bind to ports on host"). With a
 * hub running on this data directory, each port it bound is connected to, with a TLS handshake on
 * TLS ports. Without one, "not running", and each configured port is bound once and released, so
 * a port taken by another program or needing privileges is known before the start.
 */
export async function hubPortsCheck(config: OutpostConfig, hub: RunningHub): Promise<CheckResult> {
  const id = 'hub-ports';
  const enabled = listeners(config).filter((l) => l.enabled);
  const details: string[] = [];
  let worst = 'pass' as CheckStatus;
  const note = (status: CheckStatus, line: string) => {
    details.push(`${status}: ${line}`);
    if (status === 'fail') worst = 'fail';
  };
  if (hub.status !== undefined) {
    const title = 'hub reachable on each enabled port';
    for (const listener of enabled) {
      const port = hub.status.ports[listener.name];
      if (port === null || port === undefined) {
        note('fail', `${listener.label}: enabled in the configuration, but the running hub has no such listener (it runs with another configuration)`);
        continue;
      }
      const host = probeHost(listener.host);
      const error = await probe(host, port, listener.tls);
      note(error === undefined ? 'pass' : 'fail', `${listener.label} ${host}:${port}: ${error ?? (listener.tls ? 'TLS handshake completed' : 'connected')}`);
    }
    const message = worst === 'pass' ? `hub (process ${hub.status.pid}) answers on ${enabled.length} port(s)` : 'the running hub does not answer on every port';
    return result(id, title, worst, message, worst === 'pass' ? undefined : 'a firewall, another program on the port, or a hub that is overloaded or hung; see its log (`journalctl -u outpost`)', details);
  }
  const title = 'hub ports free to bind (hub not running)';
  for (const listener of enabled) {
    if (listener.port === 0) {
      note('pass', `${listener.label}: port 0 (the hub picks a free port)`);
      continue;
    }
    const error = await tryBind(listener.host, listener.port);
    note(error === undefined ? 'pass' : 'fail', `${listener.label} ${listener.host ?? '*'}:${listener.port}: ${error ?? 'free'}`);
  }
  const message = worst === 'pass' ? `not running; ${enabled.length} port(s) free to bind` : 'not running; a port cannot be bound';
  const hint = worst === 'pass' ? undefined : 'stop the program holding the port or change the port (mqtt.port, amqp.port, https.port, mqttPlain.port); ports below 1024 need root or CAP_NET_BIND_SERVICE';
  return result(id, title, worst, message, hint, details);
}

/** A wildcard bind is reached on loopback; a specific address is probed as configured. */
function probeHost(host: string | null): string {
  if (host === null || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host;
}

function probe(host: string, port: number, tls: boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    // Only reachability and a completed handshake are checked here; the certificate itself is the certificates check.
    const socket = tls ? tlsConnect({ host, port, rejectUnauthorized: false, servername: host === '127.0.0.1' || host.includes(':') ? undefined : host }) : tcpConnect({ host, port });
    const done = (error: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    const timer = setTimeout(() => done(`no answer within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
    socket.once(tls ? 'secureConnect' : 'connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

function tryBind(host: string | null, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('in use by another program (EADDRINUSE)');
      else if (error.code === 'EACCES') resolve('permission denied (EACCES): ports below 1024 need root or CAP_NET_BIND_SERVICE');
      else resolve(error.code ?? error.message);
    });
    server.listen({ port, ...(host === null ? {} : { host }), exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
