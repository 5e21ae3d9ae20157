import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { Logger } from '../../log/index.js';
import { PeerChainCache, SessionTickets } from '../../tls/index.js';
import { bindError } from './bind-error.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { HandshakeDeadlines, NO_NODE_HANDSHAKE_TIMEOUT } from './handshake-deadlines.js';
import type { ProtocolAdapter } from './protocol-adapter.js';

export interface SocketListenerOptions {
  /** Configuration section name ("mqtt", "mqttPlain", "amqp"), used in logs and errors. */
  readonly name: string;
  readonly host: string | null;
  readonly port: number;
  /** Flag that sets the port, named in bind errors. */
  readonly flag?: string;
  /** TLS settings; absent for a plain-TCP listener. */
  readonly tls?: SecureContextOptions & { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3'; requestCert?: boolean; rejectUnauthorized?: boolean };
  /**
   * TLS session tickets (tls.sessionTicketLifetime): the ticket key's rotation period and the
   * longest a ticket resumes; 0 turns tickets off. Absent: Node's own (a random key for the life
   * of the process, 300 s sessions).
   */
  readonly sessionTicketLifetimeMs?: number;
  readonly connectTimeoutMs: number;
  readonly adapter: ProtocolAdapter;
  readonly registry: ConnectionRegistry;
  readonly logger: Logger;
}

/**
 * A TCP or TLS listener that hands every accepted stream to its protocol adapter. It owns only
 * accepting, the connection limit and TLS; everything after the handshake is the adapter's.
 */
/** The 'error' listener of an accepted socket (`this` is the socket). */
function destroyOnError(this: Socket): void {
  this.destroy();
}

/** Resumed client-certificate chains remembered at most (see PeerChainCache): about 200 bytes each. */
const PEER_CHAINS_MAX = 10_000;

export class SocketListener {
  private server: Server | undefined;
  private tickets: SessionTickets | undefined;
  /** The TLS listener's handshake deadlines (one sweep instead of Node's timer per socket). */
  private handshakes: HandshakeDeadlines | undefined;

  constructor(private readonly options: SocketListenerOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** Binds and resolves with the actual port (useful when the configured port is 0). */
  async listen(): Promise<number> {
    const { options } = this;
    const server = options.tls === undefined ? this.plainServer() : this.tlsServer(options.tls);
    this.server = server;
    // Count connections at TCP accept, before any TLS work (tls.Server emits 'connection' too).
    // Nagle is off from accept (the servers' noDelay option: one setsockopt in the accept path, no
    // second one from JavaScript), and the error listener is one shared function, not a closure
    // per connection (issue 20: accept-path work in a connection storm).
    server.on('connection', (socket: Socket) => {
      if (!options.registry.admit(socket, options.name)) return;
      // A socket error before the adapter owns the stream (reset during the TLS handshake) is
      // routine. A plain socket's adapter owns it already (the server's own 'connection' listener,
      // registered first, handed it over) and listens for its errors: a second listener would
      // cost an array per connection (issue 20).
      if (options.tls !== undefined) socket.on('error', destroyOnError);
      this.handshakes?.accepted(socket);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: unknown) => reject(bindError(options.name, options.host, options.port, options.flag, error));
      server.once('error', onError);
      const listenOptions = options.host === null ? { port: options.port } : { port: options.port, host: options.host };
      server.listen(listenOptions, () => {
        server.off('error', onError);
        server.on('error', (error) => options.logger.error({ event: 'transport.listener_error', listener: options.name, err: error }, 'listener error'));
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  private plainServer(): Server {
    return createTcpServer({ noDelay: true }, (socket) => {
      if (socket.destroyed) return;
      this.handOver(socket, false);
    });
  }

  private tlsServer(tls: NonNullable<SocketListenerOptions['tls']>): Server {
    const lifetimeMs = this.options.sessionTicketLifetimeMs;
    const tickets = lifetimeMs === undefined ? undefined : new SessionTickets(lifetimeMs);
    this.tickets = tickets;
    const ticketOptions = tickets?.serverOptions() ?? {};
    const secureOptions = (tls.secureOptions ?? 0) | (ticketOptions.secureOptions ?? 0);
    // A resumed session carries the client's certificate but not its intermediates; this puts them back.
    const chains = tickets?.enabled === true && tls.requestCert === true ? new PeerChainCache(lifetimeMs!, PEER_CHAINS_MAX) : undefined;
    const handshakes = new HandshakeDeadlines(this.options.connectTimeoutMs, this.options.name, this.options.logger);
    this.handshakes = handshakes;
    const server = createTlsServer({ ...tls, ...ticketOptions, secureOptions, noDelay: true, handshakeTimeout: NO_NODE_HANDSHAKE_TIMEOUT }, (socket: TLSSocket) => {
      handshakes.settled(socket);
      chains?.attach(socket);
      this.handOver(socket, true);
    });
    tickets?.attach(server);
    server.on('tlsClientError', (error, socket) => {
      handshakes.settled(socket);
      this.options.logger.debug(
        { event: 'transport.tls_handshake_failed', listener: this.options.name, remoteAddress: socket.remoteAddress, reason: error.message },
        'TLS handshake failed',
      );
      socket.destroy();
    });
    return server;
  }

  private handOver(socket: Socket, secure: boolean): void {
    const remoteAddress = socket.remoteAddress;
    const remotePort = socket.remotePort;
    forgetPeerName(socket);
    this.options.adapter.handle(socket, {
      listener: this.options.name,
      remoteAddress: remoteAddress ?? '',
      remotePort: remotePort ?? 0,
      secure,
      connectTimeoutMs: this.options.connectTimeoutMs,
    });
  }

  /** Stops accepting; open connections stay with their adapter until it shuts them down. */
  stopAccepting(): void {
    // close() calls back only once every connection has ended; shutdown does not wait on that.
    if (this.server?.listening === true) this.server.close();
    this.tickets?.close();
  }
}

/**
 * Drops Node's cached peer name. Reading `remoteAddress` leaves an object of address, family and
 * port on the socket (`_peername`: 56 B on every open connection, issue 20); the connection's info
 * keeps the two values it needs. Should anything ask the socket again, Node reads the name anew
 * (one getpeername).
 */
export function forgetPeerName(socket: Socket): void {
  (socket as Socket & { _peername?: unknown })._peername = undefined;
}
