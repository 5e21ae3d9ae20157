import type { IPublishPacket } from 'mqtt-packet';
import type { Logger } from '../../../log/index.js';
import { mayActFor, type ClientIdentity as AuthIdentity, type DeviceScope } from '../../auth/index.js';
import type { Broker, Session } from '../../broker/index.js';
import type { ConnectedClients } from '../../core/index.js';
import type { C2dDeliveries } from '../../c2d/index.js';
import type { MessageSink } from '../../endpoints/index.js';
import type { MethodService } from '../../methods/index.js';
import { IotHubErrorCode, TwinStatus, type TwinPatchResult, type TwinService } from '../../twin/index.js';
import { mqttC2dTarget } from './mqtt-c2d-target.js';
import type { OutboundWriter } from './outbound-writer.js';
import { classifyPublishTopic, classifySubscription, mayUseIotHubSubscription, OutboundTopic, toHubMessage, type ClientIdentity } from './iothub/index.js';

/** What the IoT Hub dialect needs from the rest of the hub. */
export interface IotHubServices {
  readonly edgeDeviceId: string;
  readonly sink: MessageSink;
  readonly twins: TwinService;
  /** The registry of connected clients: each IoT Hub connection registers its link here. */
  readonly clients: ConnectedClients;
  readonly methods: MethodService;
  /** Cloud-to-device queues; without them a C2D subscription is granted but nothing arrives. */
  readonly c2d?: C2dDeliveries;
}

export type PublishOutcome =
  | { kind: 'general' }
  /** Handled; acknowledge after `accepted` resolves (QoS 1). */
  | { kind: 'accepted'; accepted: Promise<void> }
  | { kind: 'refused'; reason: string; notAuthorized: boolean };

/**
 * The IoT Hub device/module dialect on one MQTT connection (section 5.3 of the notes): telemetry
 * and module output become HubMessages for routing, twin requests go to the twin service
 * (answered once durable), IoT Hub subscriptions are recorded on the session for direct delivery. Identities
 * come from authentication, never from topics.
 */
export interface IotHubHandlerOptions {
  /** The authenticated identity (a device or module: never anonymous). */
  readonly authIdentity: Exclude<AuthIdentity, { kind: 'anonymous' }>;
  readonly services: IotHubServices;
  readonly broker: Broker;
  /** Parent/child relations, so a parent may act for its children. */
  readonly scope: DeviceScope | undefined;
  /** The connection's logger, made on first use (most connections never log). */
  readonly log: () => Logger;
  /** The connection's outbound writer: QoS 0 replies and C2D deliveries. */
  readonly writer: OutboundWriter;
  /** `model-id` of the user name (IoT Plug and Play), read at CONNECT. */
  readonly modelId: string | undefined;
}

export class IotHubHandler {
  private readonly identity: ClientIdentity;
  private readonly authIdentity: AuthIdentity;
  private readonly services: IotHubServices;
  private readonly broker: Broker;
  private readonly scope: DeviceScope | undefined;
  private readonly logger: () => Logger;
  private readonly writer: OutboundWriter;
  private readonly modelId: string | undefined;
  private unsubscribeDesired: (() => void) | undefined;
  private detachC2d: (() => void) | undefined;
  private closed = false;

  constructor(options: IotHubHandlerOptions) {
    const auth = options.authIdentity;
    this.identity = auth.kind === 'module' ? { deviceId: auth.deviceId, moduleId: auth.moduleId } : { deviceId: auth.deviceId };
    this.authIdentity = auth;
    this.services = options.services;
    this.broker = options.broker;
    this.scope = options.scope;
    this.logger = options.log;
    this.writer = options.writer;
    this.modelId = options.modelId;
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
        // Answered once read; a QoS 1 GET is acknowledged at once (nothing to make durable).
        void this.services.twins.getForClient(this.twinId).then((result) => {
          if (inbound.requestId === '') return;
          if (result.ok) this.respondTwin(TwinStatus.Ok, inbound.requestId, Buffer.from(JSON.stringify({ desired: result.twin.desired, reported: result.twin.reported })));
          else this.respondTwinError(inbound.requestId, result);
        });
        return { kind: 'accepted', accepted: Promise.resolve() };
      case 'twin-reported-patch': {
        const answered = this.patchReported(payload).then((result) => {
          if (inbound.requestId === '') return;
          if (result.ok) this.respondTwin(TwinStatus.NoContent, inbound.requestId, Buffer.alloc(0), result.version);
          else this.respondTwinError(inbound.requestId, result);
        });
        // PUBACK (QoS 1) only once the patch is durable, or refused.
        return { kind: 'accepted', accepted: answered };
      }
      case 'method-response':
        // The answer to a direct-method call made to this identity; a late or unknown one is logged.
        if (!this.services.methods.respond(this.twinId, inbound.requestId, inbound.status, payload)) {
          this.logger().info({ event: 'iothub.method_response_unmatched', requestId: inbound.requestId, status: inbound.status }, 'method response without a pending call');
        }
        return { kind: 'accepted', accepted: Promise.resolve() };
    }
  }

  /** Returns 'general' for a non-IoT Hub filter, else whether the identity may subscribe. */
  onSubscribe(session: Session, filter: string): 'general' | 'granted' | 'refused' {
    const subscription = classifySubscription(filter);
    if (subscription.kind === 'general') return 'general';
    if (!mayUseIotHubSubscription(this.identity, subscription)) return 'refused';
    this.broker.subscribeIotHub(session, subscription.kind);
    if (subscription.kind === 'desired-properties') this.subscribeDesired();
    if (subscription.kind === 'c2d') this.resumeC2d();
    this.services.clients.changed(this.twinId);
    return 'granted';
  }

  /**
   * Returns 'general' for a non-IoT Hub filter, else whether the session had that subscription;
   * an IoT Hub one removed stops what it delivered (desired-property patches, C2D) at once.
   */
  onUnsubscribe(session: Session, filter: string): 'general' | 'removed' | 'absent' {
    const subscription = classifySubscription(filter);
    if (subscription.kind === 'general') return 'general';
    if (!this.broker.unsubscribeIotHub(session, subscription.kind)) return 'absent';
    if (subscription.kind === 'desired-properties') {
      this.unsubscribeDesired?.();
      this.unsubscribeDesired = undefined;
    }
    if (subscription.kind === 'c2d') {
      this.detachC2d?.();
      this.detachC2d = undefined;
    }
    this.services.clients.changed(this.twinId);
    return 'removed';
  }

  /**
   * The device's C2D queue delivers through this connection's outbound writer (on SUBSCRIBE, or
   * when a persistent session resumes with its C2D subscription): what was queued while it was
   * away comes first, in order.
   */
  resumeC2d(): void {
    if (this.detachC2d !== undefined || this.closed || this.services.c2d === undefined || this.identity.moduleId !== undefined) return;
    this.detachC2d = this.services.c2d.attach(this.identity.deviceId, mqttC2dTarget(this.writer));
  }

  /**
   * A persistent session resumed with its desired-properties subscription: the Azure SDK does not
   * subscribe again after a reconnect, so the notifications (and what was missed) start here.
   */
  resumeDesired(): void {
    this.subscribeDesired();
  }

  /** The connection closed: no more notifications through it. */
  close(): void {
    this.closed = true;
    this.unsubscribeDesired?.();
    this.unsubscribeDesired = undefined;
    this.detachC2d?.();
    this.detachC2d = undefined;
  }

  private subscribeDesired(): void {
    if (this.unsubscribeDesired !== undefined || this.closed) return;
    this.unsubscribeDesired = this.services.twins.subscribeDesired(this.twinId, (notification) => {
      if (this.closed) return false;
      const topic = OutboundTopic.desiredPatch(notification.version);
      if (!topic.ok) return false;
      // QoS 0, as IoT Hub sends it; what a dropped connection loses is sent again on resubscription.
      this.writer.reply(topic.topic, Buffer.from(JSON.stringify(notification.patch)));
      return true;
    });
  }

  private patchReported(payload: Buffer): Promise<TwinPatchResult> {
    let patch: unknown;
    try {
      patch = JSON.parse(payload.toString('utf8'));
    } catch {
      return Promise.resolve({ ok: false, status: TwinStatus.BadRequest, errorCode: IotHubErrorCode.ArgumentInvalid, reason: 'the patch is not valid JSON' });
    }
    return this.services.twins.patchReported(this.twinId, patch, payload.length);
  }

  /**
   * IoT Hub's error body: the Node SDK reports a twin error only when the body has `errorCode`
   * (it ignores the status), so an empty body (what Azure's edge hub sends) reads as success.
   */
  private respondTwinError(requestId: string, result: { status: number; errorCode: number; reason: string }): void {
    const body = { errorCode: result.errorCode, message: result.reason, timestampUtc: new Date().toISOString() };
    this.respondTwin(result.status, requestId, Buffer.from(JSON.stringify(body)));
  }

  private respondTwin(status: number, requestId: string, payload: Buffer, version?: number): void {
    const topic = OutboundTopic.twinResponse(status, requestId, version);
    if (topic.ok) this.writer.reply(topic.topic, payload);
    else this.logger().warn({ event: 'iothub.twin_response_invalid', reason: topic.reason }, 'cannot build a twin response topic');
  }
}
