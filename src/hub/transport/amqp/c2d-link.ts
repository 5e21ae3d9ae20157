/**
 * C2D over AMQP (`/devices/{d}/messages/devicebound`, notes 6.1): the device's queue in the C2D
 * service delivers through this link, one message at a time. Each message carries annotation
 * `x-opt-lock-token` (a new uuid, also its delivery tag, as edge hub does) and the device settles
 * it: `accepted` (complete) removes it, `rejected` (reject) removes it as undeliverable,
 * `released`/`modified` (abandon) puts it back at the head of the queue, and a link or
 * connection that goes before the disposition loses it (sent again later).
 */
import { randomUUID } from 'node:crypto';
import rhea, { type Delivery, type EventContext, type Message, type Sender } from 'rhea';
import { c2dAddress, type C2dDeliveryTarget, type C2dFeedback, type C2dMessage } from '../../c2d/index.js';
import { Annotation } from './amqp-constants.js';

export interface C2dLink extends C2dDeliveryTarget {
  /** The link is gone: what it had in flight is lost. */
  close(): void;
}

export function c2dLink(sender: Sender): C2dLink {
  const pending = new Map<Delivery, (feedback: C2dFeedback) => void>();
  let waiting: (() => void) | undefined;
  let closed = false;
  const settle = (context: EventContext, feedback: C2dFeedback) => {
    const delivery = context.delivery;
    if (delivery === undefined) return;
    const resolve = pending.get(delivery);
    if (resolve === undefined) return;
    pending.delete(delivery);
    resolve(feedback);
  };
  sender.on('accepted', (context: EventContext) => settle(context, 'completed'));
  sender.on('rejected', (context: EventContext) => settle(context, 'rejected'));
  sender.on('released', (context: EventContext) => settle(context, 'lost'));
  sender.on('settled', (context: EventContext) => settle(context, 'lost'));
  sender.on('sendable', () => {
    const next = waiting;
    waiting = undefined;
    next?.();
  });
  return {
    deliver(message) {
      return new Promise<C2dFeedback>((resolve) => {
        const send = () => {
          if (closed || !sender.is_open()) return resolve('lost');
          const lockToken = randomUUID();
          const delivery = sender.send(c2dMessage(message, lockToken), rhea.string_to_uuid(lockToken));
          pending.set(delivery, resolve);
        };
        if (sender.sendable()) send();
        else waiting = send;
      });
    },
    close() {
      closed = true;
      const resolvers = [...pending.values()];
      pending.clear();
      for (const resolve of resolvers) resolve('lost');
      const next = waiting;
      waiting = undefined;
      next?.();
    },
  };
}

function c2dMessage(message: C2dMessage, lockToken: string): Message {
  const out: Message = {
    message_id: message.messageId,
    to: c2dAddress(message.deviceId),
    absolute_expiry_time: new Date(message.expiresAtMs),
    application_properties: { ...message.properties },
    message_annotations: {
      [Annotation.LockToken]: lockToken,
      [Annotation.EnqueuedTime]: new Date(message.enqueuedAtMs),
      [Annotation.SequenceNumber]: rhea.types.wrap_ulong(message.seq),
    },
    body: rhea.message.data_section(message.body),
  };
  if (message.correlationId !== undefined) out.correlation_id = message.correlationId;
  if (message.userId !== undefined) out.user_id = message.userId;
  if (message.contentType !== undefined) out.content_type = message.contentType;
  if (message.contentEncoding !== undefined) out.content_encoding = message.contentEncoding;
  return out;
}
