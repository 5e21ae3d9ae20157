/**
 * Twins over AMQP (`/devices/{d}[/modules/{m}]/twin`, notes 6.1, `TwinReceivingLinkHandler`):
 * requests arrive on the client's sending link with annotation `operation` (GET, PATCH of the
 * reported properties, PUT to subscribe to desired-property updates, DELETE to unsubscribe) and a
 * correlation-id; answers go out on the client's receiving link with the same correlation-id,
 * annotation `status` and, after a change, `version`. Desired patches are messages on that link
 * without a correlation-id. What a twin operation means is the TwinService's.
 */
import rhea, { type EventContext, type Message, type Receiver } from 'rhea';
import type { Logger } from '../../../log/index.js';
import { IotHubErrorCode, TwinStatus, type TwinService } from '../../twin/index.js';
import { Annotation, TwinOperation } from './amqp-constants.js';
import type { AmqpClientLink } from './amqp-client-link.js';
import { bodyBytes } from './amqp-message.js';

export interface TwinLinkOwner {
  readonly twins: TwinService;
  logger(): Logger;
  /** Subscribes the identity to desired-property notifications (idempotent). */
  subscribeDesired(identity: AmqpClientLink): void;
  unsubscribeDesired(identity: AmqpClientLink): void;
}

export function serveTwinReceiver(owner: TwinLinkOwner, identity: AmqpClientLink, receiver: Receiver, credit: number): void {
  receiver.on('message', (context: EventContext) => {
    const { message, delivery } = context;
    if (message === undefined || delivery === undefined) return;
    if (delivery.remote_settled !== true) delivery.accept();
    if (receiver.is_open()) receiver.add_credit(1);
    handleTwinRequest(owner, identity, message);
  });
  receiver.add_credit(credit);
}

function handleTwinRequest(owner: TwinLinkOwner, identity: AmqpClientLink, message: Message): void {
  const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
  const operation = annotations[Annotation.Operation];
  const correlationId = message.correlation_id;
  const respond = (status: number, body: Buffer, version?: number) => {
    if (correlationId === undefined || correlationId === null) return;
    sendTwin(identity, { correlation_id: correlationId, message_annotations: twinAnnotations(status, version), body: rhea.message.data_section(body) }, owner);
  };
  const fail = (result: { status: number; errorCode: number; reason: string }) =>
    respond(result.status, Buffer.from(JSON.stringify({ errorCode: result.errorCode, message: result.reason, timestampUtc: new Date().toISOString() })));
  const twinId = identity.identity;
  switch (operation) {
    case TwinOperation.Get:
      void owner.twins.getForClient(twinId).then((result) => {
        if (result.ok) respond(TwinStatus.Ok, Buffer.from(JSON.stringify({ desired: result.twin.desired, reported: result.twin.reported })), result.twin.version);
        else fail(result);
      });
      return;
    case TwinOperation.PatchReported: {
      const payload = bodyBytes(message.body);
      let patch: unknown;
      try {
        patch = JSON.parse(payload.toString('utf8'));
      } catch {
        fail({ status: TwinStatus.BadRequest, errorCode: IotHubErrorCode.ArgumentInvalid, reason: 'the patch is not valid JSON' });
        return;
      }
      void owner.twins.patchReported(twinId, patch, payload.length).then((result) => {
        if (result.ok) respond(TwinStatus.NoContent, Buffer.alloc(0), result.version);
        else fail(result);
      });
      return;
    }
    case TwinOperation.SubscribeDesired:
      owner.subscribeDesired(identity);
      respond(TwinStatus.NoContent, Buffer.alloc(0));
      return;
    case TwinOperation.UnsubscribeDesired:
      owner.unsubscribeDesired(identity);
      respond(TwinStatus.NoContent, Buffer.alloc(0));
      return;
    default:
      fail({ status: TwinStatus.BadRequest, errorCode: IotHubErrorCode.ArgumentInvalid, reason: `unknown twin operation ${JSON.stringify(operation ?? null)}; expected GET, PATCH, PUT or DELETE` });
  }
}

function twinAnnotations(status: number, version: number | undefined): Record<string, unknown> {
  const annotations: Record<string, unknown> = { [Annotation.Status]: rhea.types.wrap_int(status) };
  if (version !== undefined) annotations[Annotation.Version] = rhea.types.wrap_long(version);
  return annotations;
}

/** A desired-properties patch to the client, as IoT Hub sends it: no correlation-id, `version` annotation. */
export function sendDesiredPatch(identity: AmqpClientLink, version: number, patch: unknown, owner: TwinLinkOwner): boolean {
  return sendTwin(identity, { message_annotations: { [Annotation.Version]: rhea.types.wrap_long(version) }, body: rhea.message.data_section(Buffer.from(JSON.stringify(patch))) }, owner);
}

function sendTwin(identity: AmqpClientLink, message: Message, owner: TwinLinkOwner): boolean {
  const sender = identity.twinSender;
  if (sender === undefined || !sender.is_open()) {
    owner.logger().info({ event: 'amqp.twin_response_dropped', identity: identity.identity }, 'no twin link from the hub to send the answer on');
    return false;
  }
  // Twin answers are few and small; rhea queues them when the client's credit is out.
  sender.send(message);
  return true;
}
