// One connection storm, shared by mqtt-connect-storm and mqtt-auth-storm: `clients` MQTT clients
// from a few load generator processes, at most `concurrencyPerProcess` awaiting CONNACK in each,
// measured from the first TCP connect to the last CONNACK (connections/s, connect → CONNACK
// latency, broker and generator CPU in that window, and the kernel's listen drops and SYN
// retransmissions, which would make connections/s measure a retransmission timer). The clients
// stay connected until disconnect(), so a scenario can read the broker's memory in between.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadgenGroup, type LoadgenChild, type LoadgenKind } from './children.js';
import { commonWarnings, MeasuredWindow, mergeHistograms, type WindowFigures } from './measure.js';
import { sampleProc, tcpCounters } from './proc-stats.js';
import { writeCredentialsFile, type Login } from './sas-devices.js';
import type { Histogram } from './histogram.js';
import type { RunningTarget } from './targets.js';
import type { StormConfig, StormReport } from '../loadgen/protocol.js';

export interface StormSpec {
  readonly clients: number;
  readonly processes: number;
  readonly concurrencyPerProcess: number;
  readonly keepAliveSec: number;
  /** Client ids are `<prefix>-<i>-<seeded hex>` when there are no logins. */
  readonly clientIdPrefix: string;
  readonly seed: number;
  /** One per client (client id, user name, password), split over the processes in order. */
  readonly logins?: readonly Login[];
  /** Deadline for every CONNACK of the storm. */
  readonly timeoutMs: number;
  /**
   * Over TLS (the C generator only): the target's TLS port and a file of the CA that verifies it.
   * `sessionsDir`: each process keeps its clients' TLS sessions in `<dir>/sessions-<p>.txt`;
   * `resume` presents them (a reconnect storm of the same clients), and every storm with a
   * sessionsDir writes the sessions it was handed at stop.
   */
  readonly tls?: { readonly port: number; readonly caFile: string; readonly sessionsDir?: string; readonly resume?: boolean };
}

export interface StormFigures {
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | null;
  /** First TCP connect to last CONNACK, in seconds. */
  readonly stormSec: number;
  readonly connPerSec: number;
  readonly window: WindowFigures;
  readonly latency: Histogram;
  readonly listenDrops: number | null;
  readonly synRetransmits: number | null;
  /** TLS storms: handshakes the server accepted as session resumptions (null over plain TCP). */
  readonly resumed: number | null;
  /** commonWarnings plus failed connections and TCP drops. */
  readonly warnings: string[];
}

export class StormLoad {
  private constructor(
    private readonly target: RunningTarget,
    private readonly group: LoadgenGroup,
    private readonly storms: readonly LoadgenChild[],
    private readonly spec: StormSpec,
    private readonly credentialsDir: string | undefined,
  ) {}

  /** Starts the generator processes and waits until each is ready to connect. */
  static async start(target: RunningTarget, loadgen: LoadgenKind, spec: StormSpec): Promise<StormLoad> {
    if (spec.logins !== undefined && spec.logins.length < spec.clients) throw new Error(`${spec.logins.length} logins for ${spec.clients} clients`);
    const group = new LoadgenGroup(loadgen);
    const credentialsDir = spec.logins === undefined ? undefined : mkdtempSync(join(tmpdir(), 'outpost-bench-logins-'));
    const storms: LoadgenChild[] = [];
    const load = new StormLoad(target, group, storms, spec, credentialsDir);
    try {
      for (let p = 0, first = 0; p < spec.processes; p++) {
        const share = Math.floor(spec.clients / spec.processes) + (p < spec.clients % spec.processes ? 1 : 0);
        let credentialsFile: string | undefined;
        if (credentialsDir !== undefined) {
          credentialsFile = join(credentialsDir, `storm-${p}.tsv`);
          writeCredentialsFile(credentialsFile, spec.logins!.slice(first, first + share));
        }
        first += share;
        storms.push(
          group.add(`storm ${p}`, {
            role: 'storm',
            host: target.host,
            port: spec.tls?.port ?? target.port,
            clientIdPrefix: `${spec.clientIdPrefix}-${p}`,
            clients: share,
            concurrency: spec.concurrencyPerProcess,
            keepAliveSec: spec.keepAliveSec,
            seed: spec.seed + p,
            ...(credentialsFile === undefined ? {} : { credentialsFile }),
            ...(spec.tls === undefined ? {} : { tls: stormTls(spec.tls, p) }),
          }),
        );
      }
      await group.allReady(storms);
    } catch (error) {
      load.kill();
      throw error;
    }
    return load;
  }

  get pids(): number[] {
    return this.group.pids;
  }

  /** Lets the storm go and resolves once every client has its CONNACK or has failed. */
  async connect(): Promise<StormFigures> {
    const tcpBefore = tcpCounters();
    const window = new MeasuredWindow(this.target.pid, this.group.pids);
    this.group.broadcast({ type: 'start' });
    const reports = await this.group.connectedAll(this.storms, this.spec.timeoutMs);
    const figures = window.end();
    const tcpAfter = tcpCounters();
    const listenDrops = tcpBefore && tcpAfter ? tcpAfter.listenDrops - tcpBefore.listenDrops : null;
    const synRetransmits = tcpBefore && tcpAfter ? tcpAfter.synRetrans - tcpBefore.synRetrans : null;

    const connected = reports.reduce((n, r) => n + r.connected, 0);
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    const firstError = reports.find((r) => r.firstError !== null)?.firstError ?? null;
    const resumed = this.spec.tls === undefined ? null : reports.reduce((n, r) => n + (r.resumed ?? 0), 0);
    const stormSec = (Math.max(...reports.map((r) => r.finishedAtMicros)) - Math.min(...reports.map((r) => r.startedAtMicros))) / 1e6;
    const warnings = commonWarnings(figures, connected);
    if (failed > 0) warnings.push(`${failed} of ${this.spec.clients} connections failed (first: ${firstError ?? 'unknown'})`);
    if ((listenDrops ?? 0) > 0 || (synRetransmits ?? 0) > 0) {
      warnings.push(`TCP listen-queue drops ${listenDrops ?? '?'}, SYN retransmissions ${synRetransmits ?? '?'} during the storm: some connections waited for a retransmission timer`);
    }
    return {
      connected,
      failed,
      firstError,
      stormSec,
      connPerSec: connected / stormSec,
      window: figures,
      latency: mergeHistograms(reports.map((r) => r.connectLatency)),
      listenDrops,
      synRetransmits,
      resumed,
      warnings,
    };
  }

  /** Every client sends DISCONNECT and closes; false when a process did not report. */
  async disconnect(): Promise<boolean> {
    try {
      const reports = (await this.group.stopAll(this.storms, 30_000)) as StormReport[];
      return reports.length === this.storms.length;
    } finally {
      this.kill();
    }
  }

  kill(): void {
    this.group.killAll();
    if (this.credentialsDir !== undefined) rmSync(this.credentialsDir, { recursive: true, force: true });
  }
}

function stormTls(tls: NonNullable<StormSpec['tls']>, process: number): NonNullable<StormConfig['tls']> {
  if (tls.sessionsDir === undefined) return { caFile: tls.caFile };
  const file = join(tls.sessionsDir, `sessions-${process}.txt`);
  return { caFile: tls.caFile, sessionsOut: file, ...(tls.resume === true ? { sessionsIn: file } : {}) };
}

/** One storm, connected and then closed: a warm-up, or a round whose idle memory is not read. */
export async function stormOnce(target: RunningTarget, loadgen: LoadgenKind, spec: StormSpec): Promise<StormFigures> {
  const load = await StormLoad.start(target, loadgen, spec);
  try {
    const figures = await load.connect();
    await load.disconnect();
    return figures;
  } finally {
    load.kill();
  }
}

/**
 * Resolves once the broker has used less than `maxUtilization` of a core over a 200 ms stretch
 * (it has finished closing the last storm's connections and collecting their garbage), or at the
 * deadline; false then. So one storm's teardown is not billed to the next.
 */
export async function brokerQuiet(pid: number | undefined, deadlineMs = 10_000, maxUtilization = 0.05): Promise<boolean> {
  if (pid === undefined) return true;
  const stretchMs = 200;
  const giveUpAt = Date.now() + deadlineMs;
  let before = sampleProc(pid)?.cpuSec;
  while (before !== undefined && Date.now() < giveUpAt) {
    await new Promise((resolve) => setTimeout(resolve, stretchMs));
    const after = sampleProc(pid)?.cpuSec;
    if (after === undefined) return false;
    if ((after - before) / (stretchMs / 1000) < maxUtilization) return true;
    before = after;
  }
  return false;
}
