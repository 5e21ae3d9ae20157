import type { Duplex } from 'node:stream';
import type { Logger } from '../../../log/index.js';
import type { Authenticator, Authorizer, ClientIdentity, ConnectedClient, DeviceScope, IdentityLookup, PolicyTarget, Revocation } from '../../auth/index.js';
import { RateLimitedLog } from '../../../log/index.js';
import type { Broker } from '../../broker/index.js';
import type { DeliveryOutcome, ModuleInputSink } from '../../endpoints/index.js';
import type { HubMessage } from '../../message/index.js';
import type { ConnectionInfo, ProtocolAdapter } from '../protocol-adapter.js';
import { moduleInputMessage, type IotHubServices } from './iothub-handler.js';
import { OutboundTopic } from './iothub/index.js';
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

/** Serves MQTT 3.1.1 and 5.0 on every listener it is attached to (TLS, plain, later WebSocket). */
export class MqttAdapter implements ProtocolAdapter, ModuleInputSink, PolicyTarget {
  readonly protocol = 'mqtt';
  private readonly connections = new Set<MqttConnection>();
  /** `{edge}/{module}` by module id: one string per module, not one per delivered message. */
  private readonly moduleClientIds = new Map<string, string>();
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

  /**
   * Module inputs over MQTT: `devices/{edge}/modules/{m}/inputs/{input}/{bag}` at QoS 1 to the
   * module's session. With `onSettled` (the message store), only a connected session is offered
   * the message, and its PUBACK, or the session letting go of it, is reported back.
   */
  deliverToModuleInput(moduleId: string, inputName: string, message: HubMessage, onSettled?: (outcome: DeliveryOutcome) => void): boolean {
    const edgeDeviceId = this.ctx.iotHub?.edgeDeviceId;
    if (edgeDeviceId === undefined) return false;
    let clientId = this.moduleClientIds.get(moduleId);
    if (clientId === undefined) {
      clientId = `${edgeDeviceId}/${moduleId}`;
      if (this.moduleClientIds.size >= 4096) this.moduleClientIds.clear();
      this.moduleClientIds.set(moduleId, clientId);
    }
    const session = this.ctx.broker.session(clientId);
    if (session?.iotHub.has('module-inputs') !== true) return false;
    if (onSettled !== undefined && !session.connected) return false;
    const topic = OutboundTopic.moduleInput(edgeDeviceId, moduleId, inputName, message);
    if (!topic.ok) {
      this.ctx.logger.warn({ event: 'iothub.module_input_topic_invalid', moduleId, inputName, reason: topic.reason }, 'cannot build a module input topic');
      if (onSettled === undefined) return false;
      onSettled('rejected');
      return true;
    }
    if (onSettled === undefined) return this.ctx.broker.deliverTo(clientId, moduleInputMessage(topic.topic, message.body), 1);
    session.deliver({ message: moduleInputMessage(topic.topic, message.body), qos: 1, retain: false, subscriptionIds: [], seq: 0, onSettled: (acked) => onSettled(acked ? 'acked' : 'lost') });
    return true;
  }

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
