import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Logger } from '../../../log/index.js';
import { PeerChainCache, SessionTickets } from '../../../tls/index.js';
import { sendJson } from '../../../http/index.js';
import { bindError } from '../bind-error.js';
import type { ConnectionRegistry } from '../connection-registry.js';
import { HandshakeDeadlines, NO_NODE_HANDSHAKE_TIMEOUT } from '../handshake-deadlines.js';
import { refuseUpgrade, UpgradeStatus } from './upgrade-refusal.js';

/** Chains remembered for resumed sessions, as on the socket listeners. */
const PEER_CHAINS_MAX = 10_000;

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Takes an HTTP upgrade request (WebSocket) and its socket, which is the TLS socket of the
 * connection; the handler owns the socket from then on: it upgrades it or answers and closes it.
 */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpsListenerOptions {
  readonly host: string | null;
  readonly port: number;
  readonly tls: SecureContextOptions & { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3'; requestCert?: boolean };
  /**
   * TLS session tickets (tls.sessionTicketLifetime), as on the MQTT and AMQP listeners: the same
   * rotation and lifetime, 0 for none. Absent: Node's own tickets.
   */
  readonly sessionTicketLifetimeMs?: number;
  readonly connectTimeoutMs: number;
  readonly registry: ConnectionRegistry;
  readonly logger: Logger;
}

/**
 * HTTPS on 443 with Node's https module. WebSocket upgrades (MQTT and AMQP over WebSocket) go to
 * the one upgrade handler (src/hub/transport/websocket); routes are exact method + path matches,
 * which is all the local API needs.
 */
export class HttpsListener {
  private server: Server | undefined;
  private tickets: SessionTickets | undefined;
  private readonly routes = new Map<string, RequestHandler>();
  /** Routes for a path prefix (paths with ids in them), tried in order after the exact routes. */
  private readonly prefixRoutes: Array<{ method: string; prefix: string; handler: RequestHandler }> = [];
  private upgradeHandler: UpgradeHandler | undefined;
  private stopping = false;
  private inFlight = 0;
  private onIdle: (() => void) | undefined;

  constructor(private readonly options: HttpsListenerOptions) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  route(method: string, path: string, handler: RequestHandler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** A handler for every `method` request whose path starts with `prefix`. */
  routePrefix(method: string, prefix: string, handler: RequestHandler): void {
    this.prefixRoutes.push({ method, prefix, handler });
  }

  /** The handler of every upgrade request (one: WebSocket is the only upgrade served). */
  upgrade(handler: UpgradeHandler): void {
    this.upgradeHandler = handler;
  }

  async listen(): Promise<number> {
    const { options } = this;
    const lifetimeMs = options.sessionTicketLifetimeMs;
    const tickets = lifetimeMs === undefined ? undefined : new SessionTickets(lifetimeMs);
    this.tickets = tickets;
    const ticketOptions = tickets?.serverOptions() ?? {};
    const secureOptions = (options.tls.secureOptions ?? 0) | (ticketOptions.secureOptions ?? 0);
    // A WebSocket device authenticates from the TLS socket's peer certificate, as on 8883: a
    // resumed session has lost the intermediates the client sent, and this puts them back.
    const chains = tickets?.enabled === true && options.tls.requestCert === true ? new PeerChainCache(lifetimeMs!, PEER_CHAINS_MAX) : undefined;
    const handshakes = new HandshakeDeadlines(options.connectTimeoutMs, 'https', options.logger);
    const server = createServer({ ...options.tls, ...ticketOptions, secureOptions, handshakeTimeout: NO_NODE_HANDSHAKE_TIMEOUT }, (request, response) =>
      this.dispatch(request, response),
    );
    server.on('secureConnection', (socket: TLSSocket) => {
      handshakes.settled(socket);
      chains?.attach(socket);
    });
    tickets?.attach(server);
    server.headersTimeout = options.connectTimeoutMs;
    server.requestTimeout = options.connectTimeoutMs;
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      if (!options.registry.admit(socket, 'https')) return;
      socket.on('error', () => socket.destroy());
      handshakes.accepted(socket);
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.dispatchUpgrade(request, socket, head));
    server.on('tlsClientError', (error, socket) => {
      handshakes.settled(socket);
      options.logger.debug({ event: 'transport.tls_handshake_failed', listener: 'https', remoteAddress: socket.remoteAddress, reason: error.message }, 'TLS handshake failed');
      socket.destroy();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: unknown) => reject(bindError('https', options.host, options.port, '--https-port', error));
      server.once('error', onError);
      const listenOptions = options.host === null ? { port: options.port } : { port: options.port, host: options.host };
      server.listen(listenOptions, () => {
        server.off('error', onError);
        server.on('error', (error) => options.logger.error({ event: 'transport.listener_error', listener: 'https', err: error }, 'listener error'));
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  private dispatch(request: IncomingMessage, response: ServerResponse): void {
    this.inFlight += 1;
    response.once('close', () => {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.onIdle?.();
    });
    if (this.stopping) response.setHeader('connection', 'close');
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const method = request.method ?? 'GET';
    const handler = this.routes.get(`${method} ${path}`) ?? this.prefixRoutes.find((r) => r.method === method && path.startsWith(r.prefix))?.handler;
    if (handler === undefined) {
      sendJson(response, 404, { error: 'not found', path });
      return;
    }
    try {
      handler(request, response);
    } catch (error) {
      this.options.logger.error({ event: 'https.handler_failed', path, err: error }, 'request handler failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    }
  }

  private dispatchUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const handler = this.upgradeHandler;
    if (this.stopping || handler === undefined) {
      const path = (request.url ?? '/').split('?', 1)[0]!;
      // Without a handler an upgrade is just a path nothing serves, as for a plain request.
      if (this.stopping) refuseUpgrade(socket, UpgradeStatus.ServiceUnavailable, 'OUTPOST_SHUTDOWN_IN_PROGRESS', 'the hub is shutting down');
      else refuseUpgrade(socket, UpgradeStatus.NotFound, 'OUTPOST_WEBSOCKET_PATH_NOT_FOUND', `nothing is served at ${path.slice(0, 200)}`);
      return;
    }
    try {
      handler(request, socket, head);
    } catch (error) {
      this.options.logger.error({ event: 'https.upgrade_failed', code: 'OUTPOST_INTERNAL', err: error }, 'upgrade handler failed');
      socket.destroy();
    }
  }

  stopAccepting(): void {
    this.stopping = true;
    this.tickets?.close();
    if (this.server?.listening === true) this.server.close();
    // Idle keep-alive connections would hold the server open; requests in flight finish first.
    this.server?.closeIdleConnections();
  }

  /** Waits until in-flight requests are answered, or the deadline passes. */
  async shutdown(deadlineMs: number): Promise<void> {
    this.stopAccepting();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now()));
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.server?.closeAllConnections();
  }
}

