// idle-devices — what an idle device costs the hub on each of its device transports (issue 20):
// 1,000 IoT Hub devices (SAS tokens, the hub's registry; 4,000 on plain MQTT, whose devices cost
// least) connect over one transport, 25 at a time, and stay connected and idle; then 1,000 more
// over the next, until every transport holds its own:
//   - MQTT on plain TCP (1883): CONNECT with the device's user name and token;
//   - MQTT over TLS (8883): the same CONNECT;
//   - MQTT over WebSocket (443, `/$iothub/websocket`, subprotocol `mqtt`): the same CONNECT;
//   - AMQP over TLS (5671): no SASL layer, a CBS put-token for the device, then a sending link to
//     `/devices/{id}/messages/events`, as the Azure IoT device SDK for Node does with a SAS key;
//   - AMQP over WebSocket (443, subprotocol `AMQPWSB10`): the same.
// Before the measured rounds, 100 devices per transport connect and stay, so code loaded or
// compiled on a transport's first use is not counted per device.
//
// Measures, per transport: the hub's resident memory once that transport's devices are connected
// and the hub is quiet, minus the same just before they connected, divided by the devices (bytes
// per idle device; connections already held stay held, so nothing freed is reused). Outside the
// heap, TLS is most of each TLS figure (OpenSSL's state and Node's buffers, of which only the pages
// written are resident: docs/benchmarks.md, "Per idle connection"). Mosquitto takes the MQTT
// plain and TLS rounds only (no WebSocket or AMQP listener in the harness's configuration).
// `node-floor` (bench/peers/node-floor-server.ts, a bare Node server that answers CONNECT and
// keeps nothing but the socket) takes the plain MQTT round only: what an idle connection costs
// any broker built on a Node `net.Socket`, the floor beneath Outpost's plain figure.
// The headline is plain MQTT: issue 20's figure, and the one every target has.
// idle-devices-plain is the plain MQTT round alone, with 12,000 devices: a steadier figure, and a
// second one read with the hub settled before and after the round (SETTLED_ROUND_AFTER_MS).
// Run: npm run bench -- idle-devices [--target outpost|mosquitto|node-floor] [--quick] [--clients N]
//      npm run bench -- idle-devices-plain [--target outpost|mosquitto|node-floor] [--quick] [--clients N]
import rhea, { type Connection, type ConnectionOptions, type EventContext } from 'rhea';
import WebSocket from 'ws';
import { ensureOpenFiles } from '../lib/fd-limit.js';
import { finalBrokerFigures, sleep, sleepUntil } from '../lib/measure.js';
import { sampleProc } from '../lib/proc-stats.js';
import { BENCH_HUB_ARGS, BENCH_IOT_HUB, benchDevices, loginOf, registerIdentities, signSasToken, type SasIdentity } from '../lib/sas-devices.js';
import { brokerQuiet } from '../lib/storm-load.js';
import type { RunningTarget } from '../lib/targets.js';
import { closeGracefully, openConnection } from '../loadgen/connection.js';
import { ModuleConnection } from '../loadgen/module-connection.js';
import { DISCONNECT } from '../loadgen/mqtt-wire.js';
import { IDLE_CHECK_INTERVAL_MS } from '../../src/hub/idle-memory-release.js';
import { COMPILER_IDLE_TIMEOUT_MS } from '../../src/hub/routing/index.js';
import { connectionLimitArgs } from './mqtt-connect-storm.js';
import type { Scenario, ScenarioOptions } from './scenario.js';

const WARMUP_DEVICES = 100;
const CONCURRENCY = 25;
/** How long the hub may take to go quiet after a round's connects (token checks, timers). */
const QUIET_DEADLINE_MS = 10_000;
/** Settle time once quiet: the hub's idle interval is longer, so this is memory held, not released. */
const SETTLE_MS = 1000;
const CONNECT_TIMEOUT_MS = 15_000;
const MIB = 1024 * 1024;
/** How often a round reads the hub's RSS, to see memory given back during it. */
const RSS_SAMPLE_MS = 50;
/**
 * A fall of RSS within a round larger than this is memory given back (V8 shrinking the young
 * generation from 4 to 2 MiB when the hub goes quiet gives back about 1.6 MiB; a collection,
 * a thread's exit), not the noise of a round that only adds connections.
 */
export const GIVEN_BACK_BYTES = MIB;
/**
 * The first measured round starts at least this long after the run does: Outpost's route compiler
 * thread ends COMPILER_IDLE_TIMEOUT_MS (5 s) after its last compile (start-up's), and its exit
 * gives back about 5-7 MiB, which would otherwise land in whichever round is running then; 2 s
 * more for the hub's start-up compile and a loaded machine.
 */
const FIRST_ROUND_AFTER_MS = COMPILER_IDLE_TIMEOUT_MS + 2_000;
/**
 * The settled timeline (IdleDevicesSpec.settled). The hub gives memory back (a full collection and
 * malloc's trim) at the first IDLE_CHECK_INTERVAL_MS check whose interval was idle after a busy one,
 * and judges no interval right after a release. Start-up counts as busy, so the warm-up's interval
 * ends in a release at the first check; the second check is skipped; the round, started 2 s into
 * the third interval, makes that one busy; the fourth, idle, ends in a release. The hub is read
 * before the round and 8 s after that last release: both settled, with no garbage of start-up or
 * of the round's connects.
 */
const SETTLED_ROUND_AFTER_MS = 2 * IDLE_CHECK_INTERVAL_MS + 2_000;
const SETTLED_READ_AFTER_MS = 4 * IDLE_CHECK_INTERVAL_MS + 8_000;
/** The development certificate's name for this machine's loopback. */
const SERVERNAME = 'localhost';
const WEBSOCKET_PATH = '/$iothub/websocket';
const AMQP_WS_SUBPROTOCOL = 'AMQPWSB10';
/** CBS put-token status for an accepted token (Azure IoT Hub's AMQP claims-based security). */
const CBS_OK = 200;

type Transport = 'mqtt' | 'mqttTls' | 'mqttWs' | 'amqpTls' | 'amqpWs';
const TRANSPORTS: readonly Transport[] = ['mqtt', 'mqttTls', 'mqttWs', 'amqpTls', 'amqpWs'];

/** One held device connection, closed at the end. */
interface Held {
  close(): void;
}

/** What differs between `idle-devices` and `idle-devices-plain`. */
interface IdleDevicesSpec {
  readonly name: string;
  readonly description: string;
  /** The transports measured, in this order (a target takes those of them it serves). */
  readonly transports: readonly Transport[];
  /** Devices per transport (`--clients` overrides), and with `--quick`. */
  readonly devices: number;
  readonly quickDevices: number;
  /**
   * The plain MQTT round has this many times the devices: a plain device adds about 4 KiB, so the
   * RSS steps of a round (V8's heap grows by pages) weigh that many times less per device.
   */
  readonly plainRoundFactor: number;
  /**
   * Also reads the plain round settled (SETTLED_ROUND_AFTER_MS): about two minutes more per
   * target, so not in the gate's `idle-devices`. Not with `--quick`.
   */
  readonly settled: boolean;
}

export const idleDevices = idleDevicesScenario({
  name: 'idle-devices',
  description: '1,000 idle SAS devices on each transport (MQTT plain, MQTT and AMQP over TLS and WebSocket): the hub\'s resident bytes per device',
  transports: TRANSPORTS,
  devices: 1000,
  quickDevices: 100,
  plainRoundFactor: 4,
  settled: false,
});

/**
 * Plain MQTT alone, 12,000 devices in one round, where a heap step weighs a third of what it weighs
 * at 4,000 (1 MiB is 0.09 KiB per device here, 0.26 there). The other transports are left out
 * because the load generator's sockets would pass the machine's open-file limit of 20,000 with them.
 */
export const idleDevicesPlain = idleDevicesScenario({
  name: 'idle-devices-plain',
  description: '12,000 idle SAS devices on plain MQTT in one round: the hub\'s resident bytes per device',
  transports: ['mqtt'],
  devices: 12_000,
  quickDevices: 400,
  plainRoundFactor: 1,
  settled: true,
});

function idleDevicesScenario(spec: IdleDevicesSpec): Scenario {
  return {
    name: spec.name,
    description: spec.description,
    targets: ['outpost', 'mosquitto', 'node-floor'],
    // Outpost refuses clients beyond maxConnectedClients (default 10,000): a larger run raises it,
    // as an operator would.
    outpostSetup(dataDir, options) {
      const devices = allDevices(spec, options);
      registerIdentities(dataDir, devices);
      return [...BENCH_HUB_ARGS, ...connectionLimitArgs(devices.length)];
    },
    async run(target, options) {
      const runStartedMs = Date.now();
      const perTransport = devicesOf(spec, options);
      const transports = transportsOf(spec, target.name);
      const devices = allDevices(spec, options);
      const warnings: string[] = [];
      const fdWarning = ensureOpenFiles(target.pid, devices.length);
      if (fdWarning !== undefined) warnings.push(fdWarning);
      const settledTimeline = spec.settled && !options.quick;
      const container = rhea.create_container();
      const held: Held[] = [];
      try {
        // Warm-up: each transport's first connections load and compile its code; not per device.
        // They stay connected: memory they freed would be reused by the first measured round and
        // make its transport look cheaper (a closed warm-up made MQTT over TLS read 8 KiB less).
        for (const [i, transport] of transports.entries()) {
          held.push(...(await connectAll(target, container, transport, devices.slice(i * WARMUP_DEVICES, (i + 1) * WARMUP_DEVICES))));
        }
        const warmedUp = held.length;
        await settle(target, warnings);
        await sleepUntil(runStartedMs + (settledTimeline ? SETTLED_ROUND_AFTER_MS : FIRST_ROUND_AFTER_MS));

        let next = spec.transports.length * WARMUP_DEVICES;
        const startedAt = process.hrtime.bigint();
        const rounds: RoundReading[] = [];
        for (const transport of transports) {
          const count = roundDevices(spec, transport, perTransport);
          const watch = new RssWatch(target.pid);
          held.push(...(await connectAll(target, container, transport, devices.slice(next, next + count))));
          next += count;
          await settle(target, warnings);
          const round = watch.stop();
          if (round !== undefined) rounds.push({ transport, devices: count, ...round });
        }
        const windowSec = Number(process.hrtime.bigint() - startedAt) / 1e9;
        const judged = judgeRounds(rounds);
        warnings.push(...judged.warnings);
        const bytesPerDevice = judged.bytesPerDevice;
        let settledPerDevice: number | null = null;
        const plainRound = rounds.find((r) => r.transport === 'mqtt');
        if (settledTimeline && plainRound !== undefined) {
          await sleepUntil(runStartedMs + SETTLED_READ_AFTER_MS);
          const settledAfter = rssOf(target.pid);
          if (settledAfter !== undefined) {
            settledPerDevice = (settledAfter - plainRound.before) / plainRound.devices;
            // Outpost gives back the round's garbage at its release; a reading not below the quiet one means none came.
            if (target.name === 'outpost' && settledAfter >= plainRound.after) warnings.push('mqtt: no memory given back after the round: the settled figure holds its garbage');
          }
        }
        const figure = (transport: Transport): number | null => bytesPerDevice.get(transport) ?? null;
        const sample = target.pid === undefined ? undefined : sampleProc(target.pid);
        return {
          params: { devicesPerTransport: perTransport, plainRoundFactor: spec.plainRoundFactor, warmupDevices: WARMUP_DEVICES, concurrency: CONCURRENCY, settleMs: SETTLE_MS, seed: options.seed },
          windowSec,
          throughput: { value: figure('mqtt') ?? 0, unit: 'B/device', what: 'resident bytes per idle plain MQTT device (lower is better)' },
          metrics: {
            connected: held.length - warmedUp,
            mqttBytesPerDevice: figure('mqtt'),
            mqttTlsBytesPerDevice: figure('mqttTls'),
            mqttWsBytesPerDevice: figure('mqttWs'),
            amqpTlsBytesPerDevice: figure('amqpTls'),
            amqpWsBytesPerDevice: figure('amqpWs'),
            mqttSettledBytesPerDevice: settledPerDevice,
            rssAllConnectedBytes: sample?.rssBytes ?? null,
          },
          latency: null,
          broker: sample === undefined ? null : finalBrokerFigures({ pid: target.pid!, peakRssBytes: sample.peakRssBytes, cpuSec: 0, cpuSecTotal: sample.cpuSec, utilization: 0 }),
          loadgen: { processes: 0, cpuSec: 0, maxProcessUtilization: 0 },
          cpuMicrosPerUnit: { broker: null, loadgen: null },
          warnings,
        };
      } finally {
        for (const connection of held) connection.close();
      }
    },
  };
}

/** One measured round: RSS at its start and end, and how far the end is below its highest sample. */
export interface RoundReading {
  readonly transport: string;
  readonly devices: number;
  readonly before: number;
  readonly after: number;
  readonly gaveBackBytes: number;
}

/**
 * Bytes per device of each round, in order. Memory given back during a round and not taken again
 * before its end (V8 shrinking the young generation as the hub goes quiet, a thread's exit) makes
 * that round read low, and the next one high as it is taken again: neither gets a figure, and a
 * warning says why. Given back and taken again within the round is no error.
 */
export function judgeRounds(rounds: readonly RoundReading[]): { bytesPerDevice: Map<string, number>; warnings: string[] } {
  const bytesPerDevice = new Map<string, number>();
  const warnings: string[] = [];
  let regrowth = false;
  for (const round of rounds) {
    const gaveBack = round.gaveBackBytes > GIVEN_BACK_BYTES;
    if (gaveBack) warnings.push(`${round.transport}: the hub gave back ${(round.gaveBackBytes / MIB).toFixed(1)} MiB during the round: no figure`);
    else if (regrowth) warnings.push(`${round.transport}: the round after one in which the hub gave memory back: no figure`);
    else bytesPerDevice.set(round.transport, (round.after - round.before) / round.devices);
    regrowth = gaveBack;
  }
  return { bytesPerDevice, warnings };
}

/** The scenario's transports that a target takes: Outpost all five, Mosquitto MQTT plain and TLS, node-floor plain MQTT. */
function transportsOf(spec: IdleDevicesSpec, targetName: string): readonly Transport[] {
  const served: readonly Transport[] = targetName === 'outpost' ? TRANSPORTS : targetName === 'node-floor' ? ['mqtt'] : ['mqtt', 'mqttTls'];
  return spec.transports.filter((transport) => served.includes(transport));
}

function devicesOf(spec: IdleDevicesSpec, options: ScenarioOptions): number {
  return options.clients ?? (options.quick ? spec.quickDevices : spec.devices);
}

function roundDevices(spec: IdleDevicesSpec, transport: Transport, perTransport: number): number {
  return transport === 'mqtt' ? spec.plainRoundFactor * perTransport : perTransport;
}

/** Warm-up devices first (WARMUP_DEVICES per transport), then the measured ones, transport by transport. */
function allDevices(spec: IdleDevicesSpec, options: ScenarioOptions): SasIdentity[] {
  const perTransport = devicesOf(spec, options);
  const measured = spec.transports.reduce((sum, transport) => sum + roundDevices(spec, transport, perTransport), 0);
  return benchDevices(options.seed, spec.transports.length * WARMUP_DEVICES + measured);
}

function rssOf(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : sampleProc(pid)?.rssBytes;
}

/**
 * The hub's RSS at a round's start and end, and how far the end is below the round's highest
 * sample: memory given back during the round and not taken again before it ended.
 */
class RssWatch {
  private readonly before: number | undefined;
  private last: number | undefined;
  private highest = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number | undefined) {
    this.before = rssOf(pid);
    this.last = this.before;
    this.highest = this.before ?? 0;
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }

  stop(): { before: number; after: number; gaveBackBytes: number } | undefined {
    clearInterval(this.timer);
    this.sample();
    if (this.before === undefined || this.last === undefined) return undefined;
    return { before: this.before, after: this.last, gaveBackBytes: this.highest - this.last };
  }

  private sample(): void {
    const now = rssOf(this.pid);
    if (now === undefined) return;
    this.highest = Math.max(this.highest, now);
    this.last = now;
  }
}

async function settle(target: RunningTarget, warnings: string[]): Promise<void> {
  if (!(await brokerQuiet(target.pid, QUIET_DEADLINE_MS))) warnings.push('the broker did not go quiet after a round of connects');
  await sleep(SETTLE_MS);
}

/** Connects every device over `transport`, CONCURRENCY at a time; any failure fails the run. */
async function connectAll(target: RunningTarget, container: rhea.Container, transport: Transport, devices: readonly SasIdentity[]): Promise<Held[]> {
  const held: Held[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < devices.length) {
      const device = devices[next++]!;
      held.push(await connectOne(target, container, transport, device));
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } catch (error) {
    for (const connection of held) connection.close();
    throw error;
  }
  return held;
}

async function connectOne(target: RunningTarget, container: rhea.Container, transport: Transport, device: SasIdentity): Promise<Held> {
  switch (transport) {
    case 'mqtt': {
      const login = loginOf(device);
      const connection = openConnection({ host: target.host, port: target.port, clientId: login.clientId, keepAliveSec: 0, timeoutMs: CONNECT_TIMEOUT_MS, credentials: login }, () => undefined);
      await connection.ready;
      return { close: () => void closeGracefully(connection.socket, DISCONNECT) };
    }
    case 'mqttTls':
    case 'mqttWs': {
      const listener = transport === 'mqttTls' ? target.mqttTls : target.httpsTls;
      if (listener === undefined) throw new Error(`${target.name}: no ${transport === 'mqttTls' ? 'MQTT-over-TLS' : 'HTTPS'} listener known`);
      const login = loginOf(device);
      const connection = new ModuleConnection(
        {
          host: target.host,
          port: listener.port,
          caPem: listener.caPem,
          servername: SERVERNAME,
          clientId: login.clientId,
          credentials: login,
          ...(transport === 'mqttWs' ? { websocketPath: WEBSOCKET_PATH } : {}),
        },
        () => undefined,
      );
      await connection.ready;
      return { close: () => void connection.close().catch(() => undefined) };
    }
    case 'amqpTls':
    case 'amqpWs':
      return connectAmqp(target, container, transport, device);
  }
}

/** An AMQP device as the Azure IoT device SDK opens one for telemetry: CBS put-token, then its events link. */
async function connectAmqp(target: RunningTarget, container: rhea.Container, transport: 'amqpTls' | 'amqpWs', device: SasIdentity): Promise<Held> {
  const listener = transport === 'amqpTls' ? target.amqpTls : target.httpsTls;
  if (listener === undefined) throw new Error(`${target.name}: no ${transport === 'amqpTls' ? 'AMQP-over-TLS' : 'HTTPS'} listener known`);
  const common = { container_id: device.deviceId, hostname: BENCH_IOT_HUB, reconnect: false, idle_time_out: 0 };
  // rhea's typings describe connection_details as a TCP endpoint; its websocket_connect returns
  // the factory rhea actually calls (as src/hub/upstream/upstream-transport.ts does).
  const options =
    transport === 'amqpTls'
      ? ({ ...common, host: target.host, port: listener.port, transport: 'tls', ca: listener.caPem, servername: SERVERNAME } as ConnectionOptions)
      : ({
          ...common,
          connection_details: container.websocket_connect(WebSocket as never)(`wss://${target.host}:${listener.port}${WEBSOCKET_PATH}`, [AMQP_WS_SUBPROTOCOL], { ca: listener.caPem, servername: SERVERNAME }),
        } as unknown as ConnectionOptions);
  const connection = container.connect(options);
  const close = (): void => {
    connection.close();
  };
  connection.on('error', () => undefined);
  connection.on('disconnected', () => undefined);
  try {
    await withTimeout(device.deviceId, opened(connection));
    const audience = `${BENCH_IOT_HUB}/devices/${device.deviceId}`;
    const code = await withTimeout(device.deviceId, putToken(connection, audience, signSasToken(BENCH_IOT_HUB, device)));
    if (code !== CBS_OK) throw new Error(`${device.deviceId}: CBS put-token answered ${code}`);
    await withTimeout(device.deviceId, sendable(connection, `/devices/${device.deviceId}/messages/events`));
  } catch (error) {
    close();
    throw error;
  }
  return { close };
}

function opened(connection: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.once('connection_open', () => resolve());
    connection.once('connection_error', (context: EventContext) => reject(new Error(`connection refused: ${String(context.connection.error ?? 'no error')}`)));
    connection.once('disconnected', (context: EventContext) => reject(new Error(`disconnected before open: ${String(context.error ?? 'no error')}`)));
  });
}

/** The CBS exchange: a put-token on `$cbs`, its answer's status code on the reply link. */
function putToken(connection: Connection, audience: string, token: string): Promise<number> {
  const sender = connection.open_sender({ target: { address: '$cbs' } });
  const receiver = connection.open_receiver({ source: { address: '$cbs' } });
  return new Promise((resolve) => {
    receiver.once('message', (context: EventContext) => {
      const properties = (context.message?.application_properties ?? {}) as Record<string, unknown>;
      resolve(Number(properties['status-code']));
    });
    sender.once('sendable', () => {
      sender.send({
        message_id: 'put-token',
        to: '$cbs',
        reply_to: 'cbs',
        application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: encodeURIComponent(audience) },
        body: token,
      });
    });
  });
}

function sendable(connection: Connection, address: string): Promise<void> {
  const sender = connection.open_sender({ target: { address } });
  return new Promise((resolve, reject) => {
    sender.once('sendable', () => resolve());
    sender.once('sender_close', () => reject(new Error(`${address}: link refused (${String((sender.error as { condition?: string } | undefined)?.condition ?? 'no error')})`)));
  });
}

function withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not connected within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
