import type { ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import type { DashboardSampler, DashboardSnapshot } from './dashboard-sampler.js';

/** One point of the charts. */
export interface ChartPoint {
  readonly atMs: number;
  readonly inPerSec: number | null;
  readonly outPerSec: number | null;
  readonly meanLatencyMs: number | null;
  readonly p99StoreMs: number | null;
}

/** Points kept for a page opened later (5 minutes at the default 1 s). */
const HISTORY_POINTS = 300;

/** Open pages at once; past this a page is refused (each costs a connection, not a sample). */
export const MAX_STREAMS = 32;

/**
 * Server-sent events (`text/event-stream`): one timer samples the figures once per interval,
 * only while at least one page is open, and writes the same snapshot to every page. A page that
 * opens gets the chart history first (`event: history`), then each tick (`event: snapshot`).
 * EventSource reconnects by itself after a network loss (`retry:`).
 */
export class DashboardStream {
  private readonly streams = new Set<ServerResponse>();
  private readonly history: ChartPoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private last: DashboardSnapshot | undefined;
  private closed = false;

  constructor(
    private readonly sampler: DashboardSampler,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  get openStreams(): number {
    return this.streams.size;
  }

  /** Adopts a response as an event stream; false when too many are open (the caller answers 503). */
  open(response: ServerResponse): boolean {
    if (this.closed || this.streams.size >= MAX_STREAMS) return false;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A reverse proxy in front must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${Math.max(1000, this.intervalMs * 2)}\n\n`);
    response.write(event('history', this.history));
    if (this.last !== undefined) response.write(event('snapshot', this.last));
    this.streams.add(response);
    response.once('close', () => {
      this.streams.delete(response);
      if (this.streams.size === 0) this.stopTimer();
    });
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.tick();
    }
    return true;
  }

  /** Ends every stream and the timer (before the HTTPS listener drains: a stream never ends by itself). */
  close(): void {
    this.closed = true;
    this.stopTimer();
    for (const response of this.streams) response.end();
    this.streams.clear();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // Rates after a pause would average over it: start afresh when a page opens again.
    this.sampler.reset();
    this.history.length = 0;
    this.last = undefined;
  }

  private tick(): void {
    // A slow tick (a busy store worker) is not stacked under the next one.
    if (this.sampling) return;
    this.sampling = true;
    this.sampler.sample().then(
      (snapshot) => {
        this.sampling = false;
        if (this.timer === undefined) return;
        this.last = snapshot;
        const { rates } = snapshot;
        this.history.push({ atMs: snapshot.atMs, ...rates });
        if (this.history.length > HISTORY_POINTS) this.history.shift();
        const text = event('snapshot', snapshot);
        for (const response of this.streams) response.write(text);
      },
      (error: unknown) => {
        this.sampling = false;
        this.logger.error({ event: 'dashboard.sample_failed', code: 'OUTPOST_INTERNAL', err: error }, 'reading the dashboard figures failed');
      },
    );
  }
}

function event(name: string, data: unknown): string {
  // JSON has no raw line feeds, so one data: line carries it.
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
