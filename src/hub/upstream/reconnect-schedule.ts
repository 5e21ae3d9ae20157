import { connect as tcpConnect } from 'node:net';

/** Where the parent is and how patiently it is tried: every link to it takes these from its own options. */
export interface ReconnectSettings {
  readonly host: string;
  readonly port: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly probeIntervalMs: number;
}

/** The timing part of ReconnectSettings, from the `upstream` settings every link to the parent shares. */
export function reconnectTimingOf(upstream: { readonly reconnectMin: number; readonly reconnectMax: number; readonly probeInterval: number }): Pick<ReconnectSettings, 'reconnectMinMs' | 'reconnectMaxMs' | 'probeIntervalMs'> {
  // A maximum set below the minimum is taken as the minimum: the backoff never shrinks.
  return { reconnectMinMs: upstream.reconnectMin, reconnectMaxMs: Math.max(upstream.reconnectMin, upstream.reconnectMax), probeIntervalMs: upstream.probeInterval };
}

/** What the schedule asks of the link it drives. */
export interface ReconnectHooks {
  /** Starts a connection attempt: the backoff ended, or a probe found the parent back. */
  readonly connect: () => void;
  /** Whether a connection (or an attempt) exists now; timers and probes then do nothing. */
  readonly busy: () => boolean;
  /** A probe found the parent reachable again (for the owner's log line); a reconnect follows at once. */
  readonly reachable: () => void;
}

export interface ReconnectScheduleOptions extends ReconnectSettings, ReconnectHooks {}

export interface ScheduledRetry {
  readonly retryInMs: number;
  /** Whether to log this failure: each of the first three attempts, then one per reconnectMax while the parent stays away. */
  readonly log: boolean;
}

/** Attempts logged one by one before the log is thinned to one line per reconnectMax. */
const ATTEMPTS_ALWAYS_LOGGED = 3;

/**
 * When to try the parent again, for each link to it (the AMQP upstream link, each MQTT upstream
 * identity connection, the MQTT bridge): backoff from reconnectMin, doubling up to reconnectMax,
 * reset by a connection that succeeds;
 * and after a failure that says the parent is out of reach, a bare TCP connect every
 * probeInterval that reconnects at once when it answers, whatever the backoff had grown to, so a
 * backlog starts draining within about a probe interval of the parent coming back (Azure's edge
 * hub users wait up to a minute there). A refusal (a bad token, a CONNACK that says no) is
 * retried at the backoff's pace only: the parent is there, and probing would not change its
 * answer.
 */
export class ReconnectSchedule {
  private backoffMs = 0;
  private attempts = 0;
  private lastLoggedMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** The last failure or probe found the parent out of reach: probe until it answers. */
  private probeArmed = false;
  private closed = false;

  constructor(private readonly options: ReconnectScheduleOptions) {}

  /**
   * A link's schedule from its own options: only the settings are copied, so the schedule holds
   * nothing else of the link's (credentials, callbacks).
   */
  static from(settings: ReconnectSettings, hooks: ReconnectHooks): ReconnectSchedule {
    const { host, port, reconnectMinMs, reconnectMaxMs, probeIntervalMs } = settings;
    return new ReconnectSchedule({ host, port, reconnectMinMs, reconnectMaxMs, probeIntervalMs, ...hooks });
  }

  /** Counts an attempt that starts now; the count restarts at each success. */
  attempting(): number {
    return ++this.attempts;
  }

  /** Attempts since the last success, this one included. */
  get attempt(): number {
    return this.attempts;
  }

  /** Connected: the next failure starts the backoff again from reconnectMin. */
  succeeded(): void {
    this.backoffMs = 0;
    this.attempts = 0;
    this.probeArmed = false;
  }

  /** An attempt failed or the connection was lost: schedules the next attempt, and probes when `unreachable`. */
  failed(unreachable: boolean): ScheduledRetry {
    if (this.closed) return { retryInMs: 0, log: false };
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    this.backoffMs = this.backoffMs === 0 ? reconnectMinMs : Math.min(this.backoffMs * 2, reconnectMaxMs);
    const nowMs = Date.now();
    const log = this.attempts <= ATTEMPTS_ALWAYS_LOGGED || nowMs - this.lastLoggedMs >= reconnectMaxMs;
    if (log) this.lastLoggedMs = nowMs;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.reconnectNow(), this.backoffMs);
    this.reconnectTimer.unref();
    this.probeArmed = unreachable;
    this.scheduleProbe();
    return { retryInMs: this.backoffMs, log };
  }

  close(): void {
    this.closed = true;
    this.clearTimers();
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private reconnectNow(): void {
    this.clearTimers();
    if (!this.closed && !this.options.busy()) this.options.connect();
  }

  private scheduleProbe(): void {
    if (this.probeTimer !== undefined || this.closed || !this.probeArmed) return;
    const { host, port, probeIntervalMs } = this.options;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.options.busy() || this.closed) return;
      const socket = tcpConnect({ host, port });
      socket.setTimeout(probeIntervalMs * 5);
      const done = (reachable: boolean) => {
        socket.destroy();
        if (this.options.busy() || this.closed) return;
        if (!reachable) return this.scheduleProbe();
        this.probeArmed = false;
        this.backoffMs = 0;
        this.options.reachable();
        this.reconnectNow();
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    }, probeIntervalMs);
    this.probeTimer.unref();
  }
}
