/**
 * rhea as an AMQP client of the hub, for what the Azure SDK does not send: many identities on one
 * connection, CBS statuses, expiring tokens, refused links, oversize messages.
 */
import rhea, { type Connection, type EventContext, type Receiver, type Sender } from 'rhea';
import { nextEvent } from './amqp-harness.js';

/** The connection's CBS pair (one per connection), and put-token answered with its status-code. */
export class CbsClient {
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly waiting = new Map<string, (status: { code: number; description: string }) => void>();
  private next = 0;

  private constructor(connection: Connection) {
    this.sender = connection.open_sender({ target: { address: '$cbs' } });
    this.receiver = connection.open_receiver({ source: { address: '$cbs' } });
    this.receiver.on('message', (context: EventContext) => {
      const message = context.message!;
      const resolve = this.waiting.get(String(message.correlation_id));
      this.waiting.delete(String(message.correlation_id));
      const properties = message.application_properties as Record<string, unknown>;
      resolve?.({ code: Number(properties['status-code']), description: String(properties['status-description']) });
    });
  }

  static async open(connection: Connection): Promise<CbsClient> {
    const cbs = new CbsClient(connection);
    await Promise.all([nextEvent(cbs.sender, 'sendable'), nextEvent(cbs.receiver, 'receiver_open')]);
    return cbs;
  }

  /** Sends a put-token; `properties` replaces the application properties when given (malformed requests). */
  putToken(audience: string, token: string, properties?: Record<string, unknown>): Promise<{ code: number; description: string }> {
    const id = `put-${this.next++}`;
    const answer = new Promise<{ code: number; description: string }>((resolve) => this.waiting.set(id, resolve));
    this.sender.send({
      message_id: id,
      to: '$cbs',
      reply_to: 'cbs',
      application_properties: properties ?? { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: encodeURIComponent(audience) },
      body: token,
    });
    return answer;
  }
}

/** Opens a sending link and resolves once it has credit, or rejects with the detach error. */
export function openSender(connection: Connection, address: string): Promise<Sender> {
  const sender = connection.open_sender({ target: { address } });
  return new Promise((resolve, reject) => {
    sender.once('sendable', () => resolve(sender));
    sender.once('sender_close', () => reject(Object.assign(new Error(`detached: ${(sender.error as { condition?: string } | undefined)?.condition ?? "(no error)"}`), { condition: (sender.error as { condition?: string } | undefined)?.condition })));
  });
}

/** Resolves with the detach error's condition once the hub detaches `link`. */
export function detached(link: Sender | Receiver, timeoutMs = 20_000): Promise<string | undefined> {
  const event = link.is_sender() ? 'sender_close' : 'receiver_close';
  return nextEvent(link, event, timeoutMs).then(() => (link.error as { condition?: string } | undefined)?.condition);
}

/** Sends one message and resolves with the outcome: `accepted`, or the rejection's condition. */
export function sendSettled(sender: Sender, message: Record<string, unknown>): Promise<string> {
  const delivery = sender.send(message as never);
  return new Promise((resolve) => {
    const onAccepted = (context: EventContext) => context.delivery === delivery && done('accepted');
    const onRejected = (context: EventContext) => context.delivery === delivery && done(`rejected:${(context.delivery!.remote_state as { error?: { condition?: string } } | undefined)?.error?.condition ?? ''}`);
    const onClose = () => done('detached');
    const done = (outcome: string) => {
      sender.removeListener('accepted', onAccepted);
      sender.removeListener('rejected', onRejected);
      sender.removeListener('sender_close', onClose);
      resolve(outcome);
    };
    sender.on('accepted', onAccepted);
    sender.on('rejected', onRejected);
    sender.on('sender_close', onClose);
  });
}

export const dataSection = (text: string | Buffer) => rhea.message.data_section(Buffer.isBuffer(text) ? text : Buffer.from(text));
