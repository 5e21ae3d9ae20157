import type { Duplex } from 'node:stream';
import type { Logger } from '../../../log/index.js';
import type { Authenticator, Authorizer, ClientIdentity, ConnectedClient, DeviceScope, IdentityLookup, PolicyTarget, Revocation } from '../../auth/index.js';
import { RateLimitedLog } from '../../../log/index.js';
import type { Broker } from '../../broker/index.js';
import type { ConnectionInfo, ProtocolAdapter } from '../protocol-adapter.js';
import { DeadlineWheel } from './deadline-wheel.js';
import type { IotHubServices } from './iothub-handler.js';
import { MqttConnection } from './mqtt-connection.js';
import type { MqttContext, MqttLimits } from './mqtt-context.js';

export interface MqttAdapterOptions {
  readonly broker: Broker;
  readonly authenticator: Authenticator;
  readonly limits: MqttLimits;
  readonly logger: Logger;
  readonly iotHub?: IotHubServices;
  readonly authorizer?: Authorizer;
  readonly scope?: DeviceScope;
  /** The identity registry: an IoT Hub identity's client id is reserved for it (docs/security.md). */
  readonly identities?: IdentityLookup;
}

/**
 * Serves MQTT 3.1.1 and 5.0 on every listener it is attached to (TLS, plain, later WebSocket).
 * IoT Hub identities register a ClientLink per connection in the hub core, which delivers
 * module inputs, C2D and method requests through it (not through broker sessions).
 */
export class MqttAdapter implements ProtocolAdapter, PolicyTarget {
  readonly protocol = 'mqtt';
  private readonly connections = new Set<MqttConnection>();
  private readonly ctx: MqttContext;

  constructor(options: MqttAdapterOptions) {
    this.ctx = {
      broker: options.broker,
      authenticator: options.authenticator,
      limits: options.limits,
      logger: options.logger.child({ protocol: 'mqtt' }),
      iotHub: options.iotHub,
      authorizer: options.authorizer,
      scope: options.scope,
      identities: options.identities,
      refusals: new RateLimitedLog(options.logger),
      live: new Map(),
      pendingWills: new Map(),
      deadlines: new DeadlineWheel(),
      protocolErrors: new Map(),
      stopping: false,
      streamClosed: (connection) => {
        this.connections.delete(connection);
        if (this.connections.size === 0) this.onIdle?.();
      },
    };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get protocolErrors(): ReadonlyMap<string, number> {
    return this.ctx.protocolErrors;
  }

  private onIdle: (() => void) | undefined;

  /** Sessions of IoT Hub identities (connected or not) with their general-broker subscriptions. */
  *policyClients(): Iterable<ConnectedClient> {
    for (const session of this.ctx.broker.allSessions()) {
      const identity = session.owner as ClientIdentity | undefined;
      if (identity === undefined || identity.kind === 'anonymous') continue;
      yield { clientId: session.clientId, identity, subscriptions: [...session.subscriptions.keys()] };
    }
  }

  /** What a new policy took away: those subscriptions go, and the connection if connect went. */
  revoke(revocation: Revocation): void {
    const session = this.ctx.broker.session(revocation.clientId);
    if (session !== undefined && revocation.subscriptions.length > 0) this.ctx.broker.unsubscribe(session, revocation.subscriptions);
    if (revocation.connect) this.ctx.live.get(revocation.clientId)?.revoke();
  }

  handle(stream: Duplex, info: ConnectionInfo): void {
    this.connections.add(new MqttConnection({ stream, info, ctx: this.ctx }));
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
    this.ctx.deadlines.close();
  }
}
