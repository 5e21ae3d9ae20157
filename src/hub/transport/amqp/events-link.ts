/**
 * Telemetry (`/devices/{d}/messages/events`) and module output (`/devices/{d}/modules/{m}/messages/events`)
 * from a client: each transfer becomes a HubMessage submitted to the MessageSink, and is settled
 * `accepted` only once the sink has it (with the store: in its write-ahead log), `rejected` with
 * the error's AMQP condition when the sink refuses it. Transfers whose messages share one store
 * write are settled together (WriteGroup).
 *
 * Flow control is by credit, not by rhea's automatic window: the link starts with
 * `limits.linkCredit` and gets one credit back per settled transfer (in batches of a quarter),
 * so a client never has more unsettled transfers than that, whatever the store's pace; a client
 * sending beyond its credit is detached with `amqp:link:transfer-limit-exceeded`.
 */
import rhea, { type Delivery, type EventContext, type Receiver } from 'rhea';
import { ErrorRegistry, type ErrorCode } from '../../../errors/index.js';
import { AmqpCondition, LinkProperty } from './amqp-constants.js';
import type { AmqpContext } from './amqp-context.js';
import { toHubMessage, type Sender } from './amqp-message.js';
import { acceptBatch } from './events-batch.js';
import type { AmqpClientLink } from './amqp-client-link.js';
import { useFastDecode } from './message-decoder.js';
import { rejectAlone } from './reject-alone.js';

/**
 * The `accepted` outcome, built once and shared: `delivery.accept()` builds a new one for every
 * delivery. rhea only encodes it (and compares descriptors when it batches dispositions).
 */
const ACCEPTED = (rhea.message as unknown as { accepted(): { described(): unknown } }).accepted().described();

/** What `delivery.accept()` does, with the shared outcome; `undefined` settles as the link's rcv-settle-mode says. */
function accept(delivery: Delivery): void {
  delivery.update(undefined as unknown as boolean, ACCEPTED);
}

export interface ReceiverControl {
  /** Detaches the link with an error (and logs it once per reason, rate-limited). */
  refuse(condition: string, description: string, code: ErrorCode): void;
}

/** Grants credit in batches, on settlement: at most `window` transfers unsettled at once. */
export class CreditWindow {
  /** Credit granted and not yet used by a transfer. */
  private outstanding = 0;
  /** Settled transfers whose credit is not given back yet. */
  private owed = 0;

  constructor(
    private readonly receiver: Receiver,
    private readonly window: number,
  ) {}

  open(): void {
    this.outstanding = this.window;
    this.receiver.add_credit(this.window);
  }

  /** A transfer arrived; false when it was beyond the credit granted. */
  take(): boolean {
    this.outstanding--;
    return this.outstanding >= 0;
  }

  /** A transfer was settled: its credit comes back (batched, as rhea's own window does). */
  settled(): void {
    this.owed++;
    if (this.owed >= Math.max(1, Math.floor(this.window / 4)) && this.receiver.is_open()) {
      this.outstanding += this.owed;
      this.receiver.add_credit(this.owed);
      this.owed = 0;
    }
  }
}

/** The AMQP condition for a refusal by the sink, from the error registry (internal error otherwise). */
export function conditionOf(error: unknown): { condition: string; description: string } {
  const code = (error as { code?: unknown } | null)?.code;
  const spec = typeof code === 'string' && Object.hasOwn(ErrorRegistry, code) ? (ErrorRegistry as Record<string, { amqpCondition?: string; summary: string }>)[code] : undefined;
  return {
    condition: spec?.amqpCondition ?? AmqpCondition.InternalError,
    description: typeof code === 'string' ? `${code}: ${(error as Error).message ?? ''}` : 'the message was not accepted',
  };
}

/** Who sends on an events link: its authenticated identity, and the model id the link names (not blank). */
function linkSender(identity: AmqpClientLink, receiver: Receiver): Sender {
  const modelId = (receiver.properties as Record<string, unknown> | undefined)?.[LinkProperty.ModelId];
  return { deviceId: identity.deviceId, moduleId: identity.moduleId, modelId: typeof modelId === 'string' && modelId.trim() !== '' ? modelId : undefined };
}

/**
 * Transfers in a row whose messages went into one store write: the store answers each message of
 * a batch with the batch's promise, so one handler settles them all (a handler, a derived promise
 * and two closures per message otherwise), as the MQTT transport groups its PUBACKs.
 */
interface WriteGroup {
  readonly written: Promise<void>;
  readonly deliveries: Delivery[];
}

export function serveEventsLink(ctx: AmqpContext, identity: AmqpClientLink, receiver: Receiver, control: ReceiverControl): void {
  const credit = new CreditWindow(receiver, ctx.limits.linkCredit);
  const sender = linkSender(identity, receiver);
  /** The last group of transfers waiting for a store write, while it waits. */
  let waiting: WriteGroup | undefined;
  useFastDecode(receiver);
  receiver.on('message', (context: EventContext) => {
    const delivery = context.delivery;
    const message = context.message;
    if (delivery === undefined || message === undefined) return;
    if (!credit.take()) {
      control.refuse(AmqpCondition.TransferLimitExceeded, 'a transfer was sent beyond the link credit', 'OUTPOST_AMQP_PROTOCOL_ERROR');
      return;
    }
    // A transfer in flight when the identity's token expired: its link is already detached.
    if (!receiver.is_open()) return;
    // rhea hands a transfer of another message-format undecoded, with its format (a batch: events-batch.ts).
    const format = (context as { format?: number }).format;
    if (format !== undefined) return acceptBatch(ctx, identity, sender, { delivery, payload: message as unknown as Buffer, format }, conditionOf, () => credit.settled());
    const hubMessage = toHubMessage(sender, message, Date.now(), ctx.services.edgeDeviceId);
    if (hubMessage.body.length > ctx.limits.maxMessageBytes) {
      rejectAlone(delivery, { condition: AmqpCondition.MessageSizeExceeded, description: `the message body is larger than ${ctx.limits.maxMessageBytes} bytes` });
      credit.settled();
      return;
    }
    const written = ctx.services.sink.submit(hubMessage);
    if (waiting !== undefined && waiting.written === written) {
      waiting.deliveries.push(delivery);
      return;
    }
    const group: WriteGroup = { written, deliveries: [delivery] };
    waiting = group;
    written.then(
      () => {
        if (waiting === group) waiting = undefined;
        for (const settled of group.deliveries) {
          accept(settled);
          credit.settled();
        }
      },
      (error: unknown) => {
        if (waiting === group) waiting = undefined;
        const { condition, description } = conditionOf(error);
        ctx.refusals.warn(`amqp.message_refused:${condition}`, { event: 'amqp.message_refused', identity: identity.identity, condition, code: (error as { code?: string }).code ?? 'OUTPOST_INTERNAL', messages: group.deliveries.length }, 'messages were not accepted by the store; rejected to their sender');
        for (const refused of group.deliveries) {
          rejectAlone(refused, { condition, description });
          credit.settled();
        }
      },
    );
  });
  credit.open();
}
