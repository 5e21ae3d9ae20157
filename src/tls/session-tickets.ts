/**
 * TLS session resumption for a listener (issue 20): a device that reconnects presents the session
 * ticket the listener handed it after its last full handshake, and skips the certificate exchange
 * and the server's signature.
 *
 * - **The key** (48 bytes: name, HMAC and AES keys, as `tls.Server#setTicketKeys` takes them) is
 *   made with the CSPRNG at start, kept in memory only (never written; a restart starts a new one,
 *   so every device does a full handshake after it), and replaced every `lifetimeMs`.
 * - **Lifetime.** Node's server holds one key: replacing it ends every ticket sealed under it, so a
 *   ticket lives from its issue to the next rotation, and at most `lifetimeMs` (the server's
 *   session timeout, which OpenSSL also checks on resumption). Why bounded at all: whoever reads
 *   the key out of the process can open every ticket sealed under it, which for TLS 1.2 holds the
 *   session's master secret (TLS 1.3 resumes with a fresh ECDHE, so its traffic stays secret), and
 *   whoever holds a device's ticket and its session secret can resume as that device until then.
 * - **Off** with a lifetime of 0: `SSL_OP_NO_TICKET`, and no session cache, so nothing resumes.
 *
 * Client certificates survive resumption: the ticket carries the certificate the client proved it
 * holds in the full handshake, and `getPeerCertificate` answers it again (tested in
 * test/tls/session-tickets.test.ts), so the X.509 authenticator decides on a resumed connection as
 * on a full one. What a ticket does not carry is the rest of the chain the client sent
 * (intermediate CAs); PeerChainCache puts it back.
 */
import { constants, randomBytes } from 'node:crypto';
import type { Server } from 'node:tls';

/** `tls.Server#setTicketKeys`: 16 bytes of key name, 16 of HMAC key, 16 of AES key. */
export const TICKET_KEYS_BYTES = 48;

/** What tls.createServer takes from this (spread into its options). */
export interface SessionTicketServerOptions {
  readonly sessionTimeout?: number;
  readonly ticketKeys?: Buffer;
  readonly secureOptions?: number;
}

export class SessionTickets {
  private readonly servers = new Set<Server>();
  private timer: NodeJS.Timeout | undefined;
  private key: Buffer;

  /** `lifetimeMs` 0: tickets off. */
  constructor(private readonly lifetimeMs: number) {
    this.key = randomBytes(TICKET_KEYS_BYTES);
  }

  get enabled(): boolean {
    return this.lifetimeMs > 0;
  }

  /** Options for tls.createServer: the key and the session timeout, or tickets off. */
  serverOptions(): SessionTicketServerOptions {
    // OpenSSL counts the session timeout in whole seconds; at least 1.
    if (this.enabled) return { ticketKeys: this.key, sessionTimeout: Math.max(1, Math.round(this.lifetimeMs / 1000)) };
    return { secureOptions: constants.SSL_OP_NO_TICKET };
  }

  /** Rotates the key of `server` with the others; the first call starts the rotation timer. */
  attach(server: Server): void {
    if (!this.enabled) return;
    this.servers.add(server);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.rotate(), this.lifetimeMs);
      // Rotation must not keep a stopping hub alive.
      this.timer.unref();
    }
  }

  /** A new key for every attached server; tickets sealed under the old one no longer resume. */
  rotate(): void {
    this.key = randomBytes(TICKET_KEYS_BYTES);
    for (const server of this.servers) server.setTicketKeys(this.key);
  }

  /** Stops the rotation (the listener stopped accepting). */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.servers.clear();
  }
}
