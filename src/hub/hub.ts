import { hostname } from 'node:os';
import type { OutpostConfig } from '../config/index.js';
import { OutpostError } from '../errors/index.js';
import { sendJson } from '../http/index.js';
import type { Logger } from '../log/index.js';
import { loadServerCredentials, tlsVersionRange, type ServerCredentials } from '../tls/index.js';
import {
  ConnectionRegistry,
  HttpsListener,
  SocketListener,
  UnavailableProtocolAdapter,
  type ProtocolAdapter,
  type RequestHandler,
  type UpgradeHandler,
} from './transport/index.js';

export interface HubPorts {
  readonly mqtt: number | null;
  readonly amqp: number | null;
  readonly https: number | null;
  readonly mqttPlain: number | null;
}

export interface HubOptions {
  readonly config: OutpostConfig;
  readonly logger: Logger;
  readonly version: string;
  /** Protocol adapters; a protocol without one is served by UnavailableProtocolAdapter. */
  readonly adapters?: { readonly mqtt?: ProtocolAdapter; readonly amqp?: ProtocolAdapter };
  /** Upgrade requests on the HTTPS listener (MQTT and AMQP over WebSocket); set before it listens. */
  readonly upgrade?: UpgradeHandler;
}

/**
 * The edge hub: TLS credentials, listeners and (as later components land) sessions, routing and
 * the store. start() resolves once every enabled listener is bound (announceReady() then logs
 * `hub.ready` with the actual ports); stop() shuts down in the order that loses nothing: stop accepting, let protocol
 * adapters finish or persist in-flight work, then destroy what is left.
 */
export class Hub {
  private readonly startedAtMs = Date.now();

  private constructor(
    private readonly options: HubOptions,
    readonly ports: HubPorts,
    readonly credentials: ServerCredentials,
    private readonly registry: ConnectionRegistry,
    private readonly socketListeners: readonly SocketListener[],
    private readonly https: HttpsListener | undefined,
    private readonly adapters: readonly ProtocolAdapter[],
  ) {}

  /**
   * Adds a route of the local HTTPS API for a path prefix (direct methods: `/twins/…`); nothing
   * happens when HTTPS is disabled.
   */
  routeHttps(method: string, prefix: string, handler: RequestHandler): void {
    this.https?.routePrefix(method, prefix, handler);
  }

  static async start(options: HubOptions): Promise<Hub> {
    const { config, logger } = options;
    const credentials = loadServerCredentials({
      certFile: config.tls.certFile,
      keyFile: config.tls.keyFile,
      caFile: config.tls.caFile,
      dataDir: config.dataDir,
      hostnames: unique([hostname(), config.gatewayHostname]),
      logger,
    });
    const tls = { cert: credentials.cert, key: credentials.key, ...tlsVersionRange(config.tls.protocols) };
    // Devices may authenticate with a client certificate: ask for one, and let the authenticator
    // (thumbprint or CA chain) decide instead of the TLS layer.
    const clientCertTls = { ...tls, requestCert: true, rejectUnauthorized: false };
    const registry = new ConnectionRegistry(config.maxConnectedClients, logger);
    const mqttAdapter = options.adapters?.mqtt ?? new UnavailableProtocolAdapter('mqtt', logger);
    const amqpAdapter = options.adapters?.amqp ?? new UnavailableProtocolAdapter('amqp', logger);

    const socketListeners: SocketListener[] = [];
    const names: (keyof HubPorts)[] = [];
    if (config.mqtt.enabled) {
      names.push('mqtt');
      socketListeners.push(
        new SocketListener({ name: 'mqtt', host: config.mqtt.host, port: config.mqtt.port, flag: '--mqtt-port', tls: clientCertTls, sessionTicketLifetimeMs: config.tls.sessionTicketLifetime, connectTimeoutMs: config.mqtt.connectTimeout, adapter: mqttAdapter, registry, logger }),
      );
    }
    if (config.mqttPlain.enabled) {
      names.push('mqttPlain');
      socketListeners.push(
        new SocketListener({ name: 'mqttPlain', host: config.mqttPlain.host, port: config.mqttPlain.port, flag: '--mqtt-plain-port', connectTimeoutMs: config.mqtt.connectTimeout, adapter: mqttAdapter, registry, logger }),
      );
    }
    if (config.amqp.enabled) {
      names.push('amqp');
      socketListeners.push(
        new SocketListener({ name: 'amqp', host: config.amqp.host, port: config.amqp.port, flag: '--amqp-port', tls: clientCertTls, sessionTicketLifetimeMs: config.tls.sessionTicketLifetime, connectTimeoutMs: config.amqp.connectTimeout, adapter: amqpAdapter, registry, logger }),
      );
    }
    // Client certificates are asked for on 443 too: MQTT and AMQP over WebSocket authenticate with them.
    const https = config.https.enabled
      ? new HttpsListener({ host: config.https.host, port: config.https.port, tls: clientCertTls, sessionTicketLifetimeMs: config.tls.sessionTicketLifetime, connectTimeoutMs: config.mqtt.connectTimeout, registry, logger })
      : undefined;
    if (options.upgrade !== undefined) https?.upgrade(options.upgrade);

    const bound = await Promise.allSettled([...socketListeners.map((l) => l.listen()), https?.listen() ?? Promise.resolve(null)]);
    const failures = bound.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) {
      for (const listener of socketListeners) listener.stopAccepting();
      https?.stopAccepting();
      throw failures.length === 1 ? failures[0] : combineBindErrors(failures);
    }
    const value = (i: number): number | null => {
      const r = bound[i];
      return r?.status === 'fulfilled' ? r.value : null;
    };
    const ports: Record<keyof HubPorts, number | null> = { mqtt: null, amqp: null, https: null, mqttPlain: null };
    names.forEach((name, i) => (ports[name] = value(i)));
    ports.https = https === undefined ? null : value(socketListeners.length);

    const hub = new Hub(options, ports, credentials, registry, socketListeners, https, unique([mqttAdapter, amqpAdapter]));
    https?.route('GET', '/health', (_request, response) => sendJson(response, https.isStopping ? 503 : 200, hub.health()));
    return hub;
  }

  /**
   * Logs `hub.ready`. Called by whoever starts the hub once everything that serves it is up (the
   * control and workload sockets too), not by start(): operators and tests take `hub.ready` as
   * "every surface answers", and the control socket used to open after it.
   */
  announceReady(): void {
    const { credentials, ports } = this;
    this.options.logger.info(
      { event: 'hub.ready', ports, caFile: credentials.caFile, certificateSource: credentials.source, version: this.options.version },
      'hub ready',
    );
  }

  health(): Record<string, unknown> {
    return {
      status: this.https?.isStopping === true ? 'stopping' : 'ok',
      version: this.options.version,
      uptimeSec: Math.round((Date.now() - this.startedAtMs) / 1000),
      connections: this.registry.size,
      ports: this.ports,
    };
  }

  get connectionCount(): number {
    return this.registry.size;
  }

  /** Graceful stop; resolves by the deadline (epoch milliseconds) at the latest. */
  async stop(deadlineMs: number): Promise<void> {
    const { logger } = this.options;
    for (const listener of this.socketListeners) listener.stopAccepting();
    this.https?.stopAccepting();
    await Promise.all([...this.adapters.map((a) => a.shutdown(deadlineMs)), this.https?.shutdown(deadlineMs)]);
    const destroyed = this.registry.destroyAll();
    if (destroyed > 0) {
      logger.warn({ event: 'hub.shutdown_forced', code: 'OUTPOST_SHUTDOWN_TIMEOUT', connections: destroyed }, 'connections still open at the deadline were destroyed');
    }
    logger.info({ event: 'hub.stopped' }, 'hub stopped');
  }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function combineBindErrors(failures: unknown[]): OutpostError {
  const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
  return new OutpostError('OUTPOST_LISTENER_BIND_FAILED', messages.join('\n'), { details: { failures: messages.length }, cause: failures[0] });
}
