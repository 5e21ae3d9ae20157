// Connection-storm role: opens `clients` connections, at most `concurrency` awaiting CONNACK at
// once, and keeps every accepted one open and idle until told to stop (so the harness can read
// the broker's resident memory per idle connection). No retries: a refused or failed connection
// is counted and the first error is reported.
import type { Socket } from 'node:net';
import { closeGracefully, openConnection } from './connection.js';
import { readCredentials } from './credentials.js';
import { DISCONNECT, monotonicMicros } from './mqtt-wire.js';
import { mulberry32 } from './prng.js';
import { Histogram } from '../lib/histogram.js';
import type { StormConfig, StormReport } from './protocol.js';

const CONNACK_TIMEOUT_MS = 30_000;

export class Storm {
  private readonly sockets: Socket[] = [];
  private readonly connectLatency = new Histogram();
  private connected = 0;
  private failed = 0;
  private firstError: string | null = null;
  private startedAtMicros = 0;
  private finishedAtMicros = 0;

  constructor(private readonly config: StormConfig) {
    if (config.tls !== undefined) throw new Error('TLS storms need the C load generator (--loadgen c)');
  }

  /** Connects every client; resolves when each has a CONNACK or has failed. */
  async run(): Promise<StormReport> {
    const { clients, concurrency } = this.config;
    const logins = this.config.credentialsFile === undefined ? undefined : readCredentials(this.config.credentialsFile, clients);
    // Seeded client ids: the same run opens the same ids in the same order.
    const random = mulberry32(this.config.seed);
    const ids = logins?.map((l) => l.clientId) ?? Array.from({ length: clients }, (_, i) => `${this.config.clientIdPrefix}-${i}-${Math.floor(random() * 0xffffff).toString(16)}`);
    let next = 0;
    this.startedAtMicros = monotonicMicros();
    const lane = async (): Promise<void> => {
      while (next < ids.length) {
        const index = next++;
        const clientId = ids[index]!;
        const credentials = logins?.[index]?.credentials;
        const began = monotonicMicros();
        const connection = openConnection(
          { host: this.config.host, port: this.config.port, clientId, keepAliveSec: this.config.keepAliveSec, timeoutMs: CONNACK_TIMEOUT_MS, ...(credentials === undefined ? {} : { credentials }) },
          () => undefined,
        );
        try {
          await connection.ready;
          this.connected += 1;
          this.connectLatency.record(monotonicMicros() - began);
          this.sockets.push(connection.socket);
        } catch (error) {
          this.failed += 1;
          this.firstError ??= error instanceof Error ? error.message : String(error);
          connection.socket.destroy();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, clients) }, lane));
    this.finishedAtMicros = monotonicMicros();
    return this.report();
  }

  async stop(): Promise<StormReport> {
    await Promise.all(this.sockets.map((socket) => closeGracefully(socket, DISCONNECT, 3000)));
    return this.report();
  }

  private report(): StormReport {
    return {
      role: 'storm',
      connected: this.connected,
      failed: this.failed,
      firstError: this.firstError,
      startedAtMicros: this.startedAtMicros,
      finishedAtMicros: this.finishedAtMicros,
      connectLatency: this.connectLatency.snapshot(),
    };
  }
}
