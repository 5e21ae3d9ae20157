import rhea, { type Connection, type EventContext, type Session } from 'rhea';
import type { Logger } from '../../log/index.js';
import { reuseFrameBuffer } from '../amqp-common/index.js';
import type { DeliveryOutcome } from '../endpoints/index.js';
import type { HubMessage } from '../message/index.js';
import { FanOutGate } from './fan-out-gate.js';
import { IdentityChannel, type ChannelContext } from './identity-channel.js';
import { ReconnectSchedule } from './reconnect-schedule.js';
import { amqpConnectOptions, socketError } from './upstream-transport.js';
import { UpstreamCbs } from './upstream-cbs.js';
import type { UpstreamCredentials } from './upstream-credentials.js';

export interface UpstreamLinkOptions {
  readonly host: string;
  readonly port: number;
  /** PEM of the CA(s) the parent's certificate chains to; undefined: Node's default CAs. */
  readonly ca: string | undefined;
  readonly edgeDeviceId: string;
  /** The hub name in SAS audiences (`{hub}/devices/…`), shared by the parent and its children. */
  readonly iotHubHostname: string;
  readonly credentials: UpstreamCredentials;
  readonly clientVersion: string;
  readonly tokenTtlMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly probeIntervalMs: number;
  readonly idleTimeoutMs: number;
  /** upstream.maxBatchSize: messages per batched transfer (1: no batching). */
  readonly maxBatchSize: number;
  /** upstream.fanOutFactor: identities with transfers in flight at once. */
  readonly fanOutFactor: number;
  /** upstream.protocol AmqpWs: over a WebSocket to `port` (the parent's HTTPS listener). */
  readonly webSocket?: boolean;
  readonly logger: Logger;
  /** The connection to the parent is open (again): the store should deliver `$upstream` now. */
  readonly onAvailable: () => void;
  /** Told when the gateway goes offline and comes back (the edgehub_offline_* metrics). */
  readonly connectivity?: ConnectivityWatcher;
}

export interface ConnectivityWatcher {
  /** The link was lost, or its first connection failed: once per outage. */
  offline(): void;
  /** The link is open again after `offlineMs` down. */
  online(offlineMs: number): void;
}

/** `held`: connected, but this identity's token was refused and its retry is not due (only it waits). */
export type UpstreamSend = 'sent' | 'unavailable' | 'held' | 'noCredentials';

/** Told of the connection and of each identity's session (the relay attaches its links there). */
export interface ChannelWatcher {
  /** The connection to the parent opened (again). */
  connected(): void;
  /** An identity's token was accepted on `session`. */
  authenticated(identity: string, session: Session): void;
  /** That identity's session is gone. */
  ended(identity: string): void;
}

/** Edge hub's container id prefix, as the parent sees it in the open frame. */
const CONTAINER_ID_PREFIX = 'OutpostUpstream_';

/**
 * The one AMQP connection to the parent, every identity multiplexed on it (an IdentityChannel
 * each, created on its first message). Losing the connection loses every unacknowledged message
 * (the store sends them again, in order) and reconnects on a ReconnectSchedule: backoff, and a
 * TCP probe that reconnects at once when an unreachable parent is back.
 */
export class UpstreamLink {
  private connection: Connection | undefined;
  private cbs: UpstreamCbs | undefined;
  private channels = new Map<string, IdentityChannel>();
  private open = false;
  private closed = false;
  private watcher: ChannelWatcher | undefined;
  /** When the current outage began; undefined while connected, and before the first attempt ends. */
  private offlineSinceMs: number | undefined;
  private readonly container = rhea.create_container({ id: `${CONTAINER_ID_PREFIX}${Math.random().toString(16).slice(2)}` });

  private readonly schedule: ReconnectSchedule;
  private readonly fanOut: FanOutGate;

  constructor(private readonly options: UpstreamLinkOptions) {
    const { host, port } = options;
    this.fanOut = new FanOutGate(options.fanOutFactor);
    this.schedule = ReconnectSchedule.from(options, {
      connect: () => this.connect(),
      busy: () => this.connection !== undefined,
      reachable: () => options.logger.info({ event: 'upstream.parent_reachable', host, port }, 'the parent is reachable again; reconnecting now'),
    });
  }

  start(): void {
    this.connect();
  }

  get connected(): boolean {
    return this.open;
  }

  /** Sends one message as `deviceId`/`moduleId`; `unavailable` when not connected, `held` when that identity is refused for now. */
  send(deviceId: string, moduleId: string | undefined, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): UpstreamSend {
    const channel = this.channelFor(deviceId, moduleId);
    if (typeof channel === 'string') return channel;
    return channel.send(message, onSettled) ? 'sent' : 'held';
  }

  /**
   * Opens the identity's channel (session and token) unless it is open or opening: the watcher's
   * `authenticated` follows (at once when it already is). For the relay, before any message.
   */
  openChannel(deviceId: string, moduleId: string | undefined): UpstreamSend {
    const channel = this.channelFor(deviceId, moduleId);
    if (typeof channel === 'string') return channel;
    if (!channel.ensureOpen()) return 'unavailable';
    const session = channel.authenticatedSession;
    if (session !== undefined) this.watcher?.authenticated(channel.identity, session);
    return 'sent';
  }

  /** Whether a token can be signed here for this identity (this edge device's key, the identity not disabled). */
  canSignFor(deviceId: string, moduleId: string | undefined): boolean {
    return this.options.credentials.credentialFor(deviceId, moduleId) !== undefined;
  }

  /** The identity's `com.microsoft:auth-chain` for its links (undefined for this edge device itself). */
  authChainFor(deviceId: string, moduleId: string | undefined): string | undefined {
    return this.options.credentials.credentialFor(deviceId, moduleId)?.authChain;
  }

  watch(watcher: ChannelWatcher): void {
    this.watcher = watcher;
  }

  private channelFor(deviceId: string, moduleId: string | undefined): IdentityChannel | 'unavailable' | 'noCredentials' {
    if (!this.open || this.connection === undefined || this.cbs === undefined) return 'unavailable';
    const identity = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    let channel = this.channels.get(identity);
    if (channel === undefined) {
      const credential = this.options.credentials.credentialFor(deviceId, moduleId);
      if (credential === undefined) return 'noCredentials';
      channel = new IdentityChannel(this.channelContext(this.connection, this.cbs), identity, deviceId, moduleId, credential);
      this.channels.set(identity, channel);
    }
    return channel;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.schedule.close();
    const connection = this.connection;
    this.dropConnection();
    if (connection !== undefined && connection.is_open()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        timer.unref();
        connection.once('connection_close', () => {
          clearTimeout(timer);
          resolve();
        });
        connection.close();
      });
    }
  }

  private channelContext(connection: Connection, cbs: UpstreamCbs): ChannelContext {
    return {
      connection,
      cbs,
      iotHubHostname: this.options.iotHubHostname,
      clientVersion: this.options.clientVersion,
      tokenTtlMs: this.options.tokenTtlMs,
      retryMinMs: this.options.reconnectMinMs,
      retryMaxMs: this.options.reconnectMaxMs,
      maxBatchSize: this.options.maxBatchSize,
      fanOut: this.fanOut,
      logger: this.options.logger,
      failed: (channel) => {
        if (this.channels.get(channel.identity) === channel) this.channels.delete(channel.identity);
      },
      authenticated: (channel, session) => this.watcher?.authenticated(channel.identity, session),
      ended: (channel) => this.watcher?.ended(channel.identity),
    };
  }

  private connect(): void {
    if (this.closed) return;
    const attempt = this.schedule.attempting();
    const { host, port } = this.options;
    const connection = this.container.connect(amqpConnectOptions(this.container, { host, port, ca: this.options.ca, idleTimeoutMs: this.options.idleTimeoutMs, webSocket: this.options.webSocket === true }));
    this.connection = connection;
    // A tick's frames in one write, transfers and dispositions by hand (amqp-common/frame-writer.ts).
    reuseFrameBuffer(connection, (connection as unknown as { socket: Parameters<typeof reuseFrameBuffer>[1] }).socket);
    let opened = false;
    connection.on('connection_open', () => {
      if (this.connection !== connection) return;
      opened = true;
      this.open = true;
      this.schedule.succeeded();
      if (this.offlineSinceMs !== undefined) this.options.connectivity?.online(Date.now() - this.offlineSinceMs);
      this.offlineSinceMs = undefined;
      this.cbs = new UpstreamCbs(connection);
      this.options.logger.info({ event: 'upstream.connected', host, port, attempt }, 'upstream link connected');
      this.options.onAvailable();
      this.watcher?.connected();
    });
    const lost = (context: EventContext) => {
      if (this.connection !== connection) return;
      const error = socketError(context.error ?? connection.error);
      this.dropConnection();
      if (opened) this.options.logger.warn({ event: 'upstream.disconnected', host, port, code: 'OUTPOST_UPSTREAM_UNREACHABLE', reason: describe(error) }, 'upstream link lost; reconnecting');
      this.scheduleReconnect(error);
    };
    connection.on('disconnected', lost);
    connection.on('connection_close', lost);
    connection.on('connection_error', lost);
    // rhea also emits 'error' for socket errors; 'disconnected' handles them.
    connection.on('error', () => undefined);
  }

  private dropConnection(): void {
    const connection = this.connection;
    this.connection = undefined;
    this.open = false;
    this.cbs?.abandon();
    this.cbs = undefined;
    const channels = [...this.channels.values()];
    this.channels = new Map();
    for (const channel of channels) channel.connectionLost();
    if (connection !== undefined) {
      connection.removeAllListeners();
      connection.on('error', () => undefined);
      try {
        connection.close();
      } catch {
        /* already closed */
      }
    }
  }

  private scheduleReconnect(error: unknown): void {
    if (this.closed) return;
    if (this.offlineSinceMs === undefined) {
      this.offlineSinceMs = Date.now();
      this.options.connectivity?.offline();
    }
    const attempt = this.schedule.attempt;
    const { retryInMs, log } = this.schedule.failed(isUnreachable(error));
    if (log) this.options.logger.warn({ event: 'upstream.connect_failed', host: this.options.host, port: this.options.port, attempt, retryInMs, code: 'OUTPOST_UPSTREAM_UNREACHABLE', reason: describe(error) }, 'cannot connect to the parent; retrying');
  }
}

/** A network-level failure (nothing listening, no route): worth probing for the parent's return. */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
}

function describe(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const { code, condition, message, description } = error as { code?: string; condition?: string; message?: string; description?: string };
  return [code, condition, description ?? message].filter((part) => part !== undefined).join(': ') || String(error);
}
