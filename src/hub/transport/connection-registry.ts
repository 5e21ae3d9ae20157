import type { Socket } from 'node:net';
import type { Logger } from '../../log/index.js';
import { RateLimitedLog } from '../../log/index.js';

/**
 * Counts every open connection across all listeners, enforces MaxConnectedClients at accept time
 * (before TLS, so a flood costs no handshakes), and destroys whatever is left at the end of a
 * graceful shutdown.
 */
export class ConnectionRegistry {
  private readonly sockets = new Set<Socket>();
  private readonly refusals: RateLimitedLog;
  private refusedTotal = 0;
  /**
   * The 'close' listener of every admitted socket: one function for all of them (`this` is the
   * socket), not a `once` per socket, which kept a closure, a bound wrapper and its state, about
   * 200 B, on every open connection (issue 20).
   */
  private readonly forget: (this: Socket) => void;

  constructor(
    private readonly maxConnections: number,
    logger: Logger,
  ) {
    this.refusals = new RateLimitedLog(logger);
    const sockets = this.sockets;
    this.forget = function (this: Socket) {
      sockets.delete(this);
    };
  }

  get size(): number {
    return this.sockets.size;
  }

  get refused(): number {
    return this.refusedTotal;
  }

  /** Returns false (and destroys the socket) when the limit is reached. */
  admit(socket: Socket, listener: string): boolean {
    if (this.sockets.size >= this.maxConnections) {
      this.refusedTotal += 1;
      this.refusals.warn('too_many_clients', {
        event: 'transport.connection_refused',
        code: 'OUTPOST_LISTENER_TOO_MANY_CLIENTS',
        listener,
        remoteAddress: socket.remoteAddress,
        maxConnectedClients: this.maxConnections,
      });
      socket.destroy();
      return false;
    }
    this.sockets.add(socket);
    socket.on('close', this.forget);
    return true;
  }

  /** Destroys every socket still open; returns how many were not already being closed. */
  destroyAll(): number {
    let count = 0;
    for (const socket of this.sockets) {
      if (socket.destroyed) continue;
      count += 1;
      socket.destroy();
    }
    this.sockets.clear();
    return count;
  }
}
