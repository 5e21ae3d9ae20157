import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../log/index.js';

/**
 * The `handshakeTimeout` given to Node's TLS server so that it arms no timer of its own: Node
 * reads 0 as its 120 s default, and arms a timer only for a value above 0.
 */
export const NO_NODE_HANDSHAKE_TIMEOUT = -1;

/** How often pending handshakes are looked at: a handshake is cut at most this much after its deadline. */
const SWEEP_MS = 1_000;

/**
 * The TLS handshake deadline of a listener's accepted sockets, on one timer (issue 20).
 *
 * Node's own (`handshakeTimeout`) arms a `Timeout` with a bound callback and a `timeout` listener
 * on every TLS socket, and on a completed handshake clears the timer but keeps the `Timeout` object
 * on the socket for its whole life: about 250 bytes of heap per idle TLS connection, and two timer
 * operations in every handshake of a storm. Here a socket is placed at TCP accept with its
 * deadline and taken out when its handshake completes (`secured`) or fails; a sweep every
 * SWEEP_MS cuts the ones still pending past their deadline, logged as Node's own timeout is
 * (`transport.tls_handshake_failed`, reason `TLS handshake timeout`). One timeout per listener means
 * deadlines come in accept order, so a sweep stops at the first one not yet due.
 *
 * The accepted socket is the TCP socket (`connection` event); a completed handshake gives its TLS
 * socket, whose `_parent` is that TCP socket (set by Node for every server-side TLS socket;
 * test/tls/handshake-deadlines.test.ts fails if a completed handshake is still pending).
 */
export class HandshakeDeadlines {
  /** TCP sockets whose handshake is pending, with their deadlines (ms since the epoch), in accept order. */
  private readonly pending = new Map<Socket, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** The listener's name in the log line of a handshake cut ("mqtt", "amqp", "https"). */
    private readonly listener: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Handshakes pending now. */
  get size(): number {
    return this.pending.size;
  }

  /** A TCP socket was accepted: its handshake is due within the timeout. */
  accepted(socket: Socket): void {
    this.pending.set(socket, this.now() + this.timeoutMs);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
  }

  /** The handshake of `socket` completed or failed (a TLS socket: its TCP socket is taken out). */
  settled(socket: TLSSocket | Socket): void {
    const parent = (socket as { _parent?: unknown })._parent;
    this.pending.delete((parent ?? socket) as Socket);
    if (this.pending.size === 0) this.stop();
  }

  private sweep(): void {
    const nowMs = this.now();
    for (const [socket, deadlineMs] of this.pending) {
      if (deadlineMs > nowMs) break;
      this.pending.delete(socket);
      if (socket.destroyed) continue;
      this.logger.debug({ event: 'transport.tls_handshake_failed', listener: this.listener, remoteAddress: socket.remoteAddress, reason: 'TLS handshake timeout' }, 'TLS handshake failed');
      socket.destroy();
    }
    if (this.pending.size === 0) this.stop();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
