import type { IPublishPacket } from 'mqtt-packet';
import type { Logger } from '../../../log/index.js';
import { mayActFor, type ClientIdentity as AuthIdentity, type DeviceScope } from '../../auth/index.js';
import type { Broker, BrokerMessage, Session } from '../../broker/index.js';
import type { MessageSink } from '../../endpoints/index.js';
import type { LocalTwinStore } from '../../twin/index.js';
import { classifyPublishTopic, classifySubscription, mayUseIotHubSubscription, OutboundTopic, toHubMessage, type ClientIdentity } from './iothub/index.js';

/** What the IoT Hub dialect needs from the rest of the hub. */
export interface IotHubServices {
  readonly edgeDeviceId: string;
  readonly sink: MessageSink;
  readonly twins: LocalTwinStore;
}

export type PublishOutcome =
  | { kind: 'general' }
  /** Handled; acknowledge after `accepted` resolves (QoS 1). */
  | { kind: 'accepted'; accepted: Promise<void> }
  | { kind: 'refused'; reason: string; notAuthorized: boolean };

/** MQTT 5 reason codes used in PUBACK for IoT Hub refusals. */
const HTTP_OK = 200;
const HTTP_NO_CONTENT = 204;
const HTTP_BAD_REQUEST = 400;

/**
 * The IoT Hub device/module dialect on one MQTT connection (section 5.3 of the notes): telemetry
 * and module output become HubMessages for routing, twin requests are answered from the local
 * twin store, IoT Hub subscriptions are recorded on the session for direct delivery. Identities
 * come from authentication, never from topics.
 */
export class IotHubHandler {
  private readonly identity: ClientIdentity;

  constructor(
    private readonly authIdentity: AuthIdentity,
    identity: ClientIdentity,
    private readonly services: IotHubServices,
    private readonly broker: Broker,
    private readonly scope: DeviceScope | undefined,
    /** The connection's logger, made on first use (most connections never log). */
    private readonly logger: () => Logger,
    private readonly reply: (topic: string, payload: Buffer) => void,
    private readonly modelId: string | undefined,
  ) {
    this.identity = identity;
  }

  private get twinId(): string {
    return this.identity.moduleId === undefined ? this.identity.deviceId : `${this.identity.deviceId}/${this.identity.moduleId}`;
  }

  onPublish(topic: string, packet: IPublishPacket, payload: Buffer): PublishOutcome {
    const classified = classifyPublishTopic(this.identity, topic);
    if (!classified.ok) return { kind: 'refused', reason: classified.reason, notAuthorized: false };
    const inbound = classified.topic;
    switch (inbound.kind) {
      case 'general':
        return { kind: 'general' };
      case 'telemetry': {
        let sender = this.identity;
        if (!inbound.matchesIdentity) {
          // A parent (or the edge hub module) may send for its children; the message then
          // carries the child's connection ids, as it would had the child connected itself.
          if (this.scope === undefined || !mayActFor(this.authIdentity, inbound.deviceId, inbound.moduleId, this.scope)) {
            return { kind: 'refused', reason: `topic names ${inbound.deviceId}${inbound.moduleId ? `/${inbound.moduleId}` : ''}, which this identity may not act for`, notAuthorized: true };
          }
          sender = inbound.moduleId === undefined ? { deviceId: inbound.deviceId } : { deviceId: inbound.deviceId, moduleId: inbound.moduleId };
        }
        const message = toHubMessage(sender, inbound, payload, Date.now(), { edgeDeviceId: this.services.edgeDeviceId, retain: packet.retain, modelId: this.modelId });
        return { kind: 'accepted', accepted: this.services.sink.submit(message) };
      }
      case 'twin-get':
        this.respondTwin(HTTP_OK, inbound.requestId, Buffer.from(this.services.twins.get(this.twinId)));
        return { kind: 'accepted', accepted: Promise.resolve() };
      case 'twin-reported-patch': {
        let patch: unknown;
        try {
          patch = JSON.parse(payload.toString('utf8'));
        } catch {
          patch = undefined;
        }
        const result = this.services.twins.patchReported(this.twinId, patch);
        if (inbound.requestId !== '') {
          if (result.ok) this.respondTwin(HTTP_NO_CONTENT, inbound.requestId, Buffer.alloc(0), result.version);
          else this.respondTwin(HTTP_BAD_REQUEST, inbound.requestId, Buffer.from(JSON.stringify({ message: result.reason })));
        }
        return { kind: 'accepted', accepted: Promise.resolve() };
      }
      case 'method-response':
        // Direct methods arrive with their own issue; a response with no pending call is logged.
        this.logger().info({ event: 'iothub.method_response_unmatched', requestId: inbound.requestId, status: inbound.status }, 'method response without a pending call');
        return { kind: 'accepted', accepted: Promise.resolve() };
    }
  }

  /** Returns 'general' for a non-IoT Hub filter, else whether the identity may subscribe. */
  onSubscribe(session: Session, filter: string): 'general' | 'granted' | 'refused' {
    const subscription = classifySubscription(filter);
    if (subscription.kind === 'general') return 'general';
    if (!mayUseIotHubSubscription(this.identity, subscription)) return 'refused';
    this.broker.subscribeIotHub(session, subscription.kind);
    return 'granted';
  }

  private respondTwin(status: number, requestId: string, payload: Buffer, version?: number): void {
    const topic = OutboundTopic.twinResponse(status, requestId, version);
    if (topic.ok) this.reply(topic.topic, payload);
    else this.logger().warn({ event: 'iothub.twin_response_invalid', reason: topic.reason }, 'cannot build a twin response topic');
  }
}

/** Builds the message a module input receives. */
export function moduleInputMessage(topic: string, body: Uint8Array): BrokerMessage {
  return { topic, payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength), qos: 1, retain: false, properties: undefined, expiresAtMs: undefined, senderClientId: '' };
}
