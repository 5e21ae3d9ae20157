/**
 * A batched transfer on an events link (IoT Hub's message-format 0x80013700: what an Outpost
 * child, or Azure's edge hub, sends upstream): every message in it is stored with the link's
 * identity as a single transfer would be, and the transfer is settled once all are durable —
 * `accepted`, or `rejected` with the store's condition if any was refused (the sender sends the
 * whole batch again: at least once). A batch that does not decode, or holds a message too large,
 * is rejected before anything is stored.
 */
import type { Delivery } from 'rhea';
import { BATCHED_MESSAGE_FORMAT, decodeBatch } from '../../amqp-common/index.js';
import type { HubMessage } from '../../message/index.js';
import { AmqpCondition } from './amqp-constants.js';
import type { AmqpContext } from './amqp-context.js';
import type { AmqpClientLink } from './amqp-client-link.js';
import { toHubMessage, type Sender } from './amqp-message.js';
import { decodeFastFirst } from './message-decoder.js';

export interface BatchTransfer {
  readonly delivery: Delivery;
  readonly payload: Buffer;
  readonly format: number;
}

/** `sender`: the link's identity and model id. `conditionOf` maps a store refusal to its AMQP condition (events-link's); `settled` gives the transfer's credit back. */
export function acceptBatch(ctx: AmqpContext, identity: AmqpClientLink, sender: Sender, transfer: BatchTransfer, conditionOf: (error: unknown) => { condition: string; description: string }, settled: () => void): void {
  const { delivery, payload, format } = transfer;
  const refuse = (condition: string, description: string): void => {
    ctx.refusals.warn(`amqp.batch_invalid:${condition}`, { event: 'amqp.batch_invalid', identity: identity.identity, condition, format, code: 'OUTPOST_AMQP_BATCH_INVALID' }, 'a batched transfer was rejected; none of its messages was stored');
    delivery.reject({ condition, description });
    settled();
  };
  if (format !== BATCHED_MESSAGE_FORMAT) return refuse(AmqpCondition.NotImplemented, `message-format ${format} is not supported (only 0 and the batched format 0x80013700)`);
  const decoded = decodeBatch(payload, decodeFastFirst);
  if (!decoded.ok) return refuse(AmqpCondition.DecodeError, decoded.reason);
  const nowMs = Date.now();
  const messages: HubMessage[] = [];
  for (const message of decoded.messages) {
    const hubMessage = toHubMessage(sender, message, nowMs, ctx.services.edgeDeviceId);
    if (hubMessage.body.length > ctx.limits.maxMessageBytes) return refuse(AmqpCondition.MessageSizeExceeded, `a message of the batch has a body larger than ${ctx.limits.maxMessageBytes} bytes`);
    messages.push(hubMessage);
  }
  // Submitted in order in one tick: one source, so one shard, in this order.
  void Promise.allSettled(messages.map((m) => ctx.services.sink.submit(m))).then((results) => {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed === undefined) delivery.accept();
    else delivery.reject(conditionOf(failed.reason));
    settled();
  });
}
