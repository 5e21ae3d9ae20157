import type { Duplex } from 'node:stream';
import type { Logger } from '../../../log/index.js';
import type { Authenticator } from '../../auth/index.js';
import type { Broker } from '../../broker/index.js';
import type { ConnectionInfo, ProtocolAdapter } from '../protocol-adapter.js';
import { MqttConnection } from './mqtt-connection.js';
import type { MqttContext, MqttLimits } from './mqtt-context.js';

export interface MqttAdapterOptions {
  readonly broker: Broker;
  readonly authenticator: Authenticator;
  readonly limits: MqttLimits;
  readonly logger: Logger;
}

/** Serves MQTT 3.1.1 and 5.0 on every listener it is attached to (TLS, plain, later WebSocket). */
export class MqttAdapter implements ProtocolAdapter {
  readonly protocol = 'mqtt';
  private readonly connections = new Set<MqttConnection>();
  private readonly ctx: MqttContext;

  constructor(options: MqttAdapterOptions) {
    this.ctx = {
      broker: options.broker,
      authenticator: options.authenticator,
      limits: options.limits,
      logger: options.logger.child({ protocol: 'mqtt' }),
      live: new Map(),
      pendingWills: new Map(),
      protocolErrors: new Map(),
      stopping: false,
    };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get protocolErrors(): ReadonlyMap<string, number> {
    return this.ctx.protocolErrors;
  }

  private onIdle: (() => void) | undefined;

  handle(stream: Duplex, info: ConnectionInfo): void {
    const connection = new MqttConnection(stream, info, this.ctx);
    this.connections.add(connection);
    stream.once('close', () => {
      this.connections.delete(connection);
      if (this.connections.size === 0) this.onIdle?.();
    });
  }

  /**
   * Stop: refuse new CONNECTs, tell MQTT 5 clients the server is shutting down, detach every
   * session (persistent ones keep their queues), then flush and close the broker's store.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.ctx.stopping = true;
    for (const connection of this.connections) connection.shutdown();
    for (const timer of this.ctx.pendingWills.values()) clearTimeout(timer);
    const untilDeadline = () => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadlineMs - Date.now())).unref());
    if (this.connections.size > 0) {
      // Clients close their side after our DISCONNECT/FIN; the deadline bounds a client that does not.
      await Promise.race([new Promise<void>((resolve) => (this.onIdle = resolve)), untilDeadline()]);
    }
    await Promise.race([this.ctx.broker.close(), untilDeadline()]);
  }
}
