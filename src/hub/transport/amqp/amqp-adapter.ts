import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../log/index.js';
import { RateLimitedLog } from '../../../log/index.js';
import type { Authenticator } from '../../auth/index.js';
import type { ConnectionInfo, ProtocolAdapter } from '../protocol-adapter.js';
import { CONTAINER_ID_PREFIX } from './amqp-constants.js';
import { AmqpConnection } from './amqp-connection.js';
import type { AmqpContext, AmqpHubServices, AmqpLimits } from './amqp-context.js';

export interface AmqpAdapterOptions {
  readonly authenticator: Authenticator;
  readonly services: AmqpHubServices;
  readonly limits: AmqpLimits;
  readonly logger: Logger;
}

/**
 * Serves IoT Hub's AMQP 1.0 device protocol (docs/amqp.md) on every stream handed to it: the TLS
 * listener on 5671 and, through `handle`, AMQP over WebSocket (an upgraded stream). Every
 * connection carries any number of identities, each authenticated and authorized on its own.
 */
export class AmqpAdapter implements ProtocolAdapter {
  readonly protocol = 'amqp';
  private readonly connections = new Set<AmqpConnection>();
  private readonly ctx: AmqpContext;
  private onIdle: (() => void) | undefined;

  constructor(options: AmqpAdapterOptions) {
    const logger = options.logger.child({ protocol: 'amqp' });
    this.ctx = {
      authenticator: options.authenticator,
      services: options.services,
      limits: options.limits,
      logger,
      refusals: new RateLimitedLog(logger),
      containerId: `${CONTAINER_ID_PREFIX}${randomUUID()}`,
      protocolErrors: new Map(),
      stopping: false,
      closed: (connection) => this.forget(connection),
    };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Protocol errors by reason, for metrics and tests. */
  get protocolErrors(): ReadonlyMap<string, number> {
    return this.ctx.protocolErrors;
  }

  /** Takes an accepted stream (TLS already negotiated, or a WebSocket already upgraded). */
  handle(stream: Duplex, info: ConnectionInfo): void {
    if (this.ctx.stopping) {
      stream.destroy();
      return;
    }
    // A socket error (reset) is routine; rhea sees the close that follows.
    stream.on('error', AmqpAdapter.destroyOnError);
    const connection = new AmqpConnection(stream, info, this.ctx);
    this.connections.add(connection);
  }

  /** The stream's error listener, one function for every stream (a closure each before). */
  private static destroyOnError(this: Duplex): void {
    this.destroy();
  }

  /** A connection's stream closed (the connection's own close listener tells: no listener and closure of the adapter's per stream). */
  private forget(connection: AmqpConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.onIdle?.();
  }

  /** Stop: every connection is closed with `amqp:connection:forced`; resolves when all are gone or at the deadline. */
  async shutdown(deadlineMs: number): Promise<void> {
    this.ctx.stopping = true;
    for (const connection of this.connections) connection.shutdown();
    if (this.connections.size === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => (this.onIdle = resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadlineMs - Date.now())).unref()),
    ]);
  }
}
