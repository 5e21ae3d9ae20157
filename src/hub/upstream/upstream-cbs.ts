import type { Connection, EventContext, Receiver, Sender, Session } from 'rhea';
import { SendBudget } from './send-budget.js';
import { CbsWire } from './upstream-constants.js';

export interface PutTokenAnswer {
  readonly status: number;
  readonly description: string;
}

/** No answer from the parent in this time: the put-token counts as failed (status 0). */
const PUT_TOKEN_TIMEOUT_MS = 30_000;
const NO_ANSWER = 0;

/**
 * The connection's CBS node client: one sending and one receiving link on `$cbs`, on a session of
 * their own, and put-token requests answered by their `status-code` (correlated by message-id).
 * Requests made before the links are attached wait for credit; every request still unanswered
 * when the connection goes is answered with status 0.
 */
export class UpstreamCbs {
  private readonly session: Session;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly budget: SendBudget;
  private readonly waiting = new Map<string, { resolve: (answer: PutTokenAnswer) => void; timer: NodeJS.Timeout }>();
  private readonly queued: { id: string; audience: string; token: string }[] = [];
  private next = 0;

  constructor(connection: Connection) {
    this.session = connection.create_session();
    this.session.begin();
    this.sender = this.session.attach_sender({ target: { address: CbsWire.Address } });
    this.receiver = this.session.attach_receiver({ source: { address: CbsWire.Address } });
    this.budget = new SendBudget(this.sender, () => this.flush());
    this.sender.on('sendable', () => this.flush());
    this.receiver.on('message', (context: EventContext) => {
      const message = context.message;
      if (message === undefined) return;
      const id = String(message.correlation_id);
      const waiter = this.waiting.get(id);
      if (waiter === undefined) return;
      this.waiting.delete(id);
      clearTimeout(waiter.timer);
      const properties = (message.application_properties ?? {}) as Record<string, unknown>;
      waiter.resolve({ status: Number(properties[CbsWire.StatusCode]), description: String(properties[CbsWire.StatusDescription] ?? '') });
    });
  }

  putToken(audience: string, token: string): Promise<PutTokenAnswer> {
    const id = `put-token-${this.next++}`;
    const answer = new Promise<PutTokenAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ status: NO_ANSWER, description: `no answer within ${PUT_TOKEN_TIMEOUT_MS} ms` });
      }, PUT_TOKEN_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(id, { resolve, timer });
    });
    this.queued.push({ id, audience, token });
    this.flush();
    return answer;
  }

  /** The connection is gone: every pending request fails. */
  abandon(): void {
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.resolve({ status: NO_ANSWER, description: 'the connection to the parent closed' });
      this.waiting.delete(id);
    }
    this.queued.length = 0;
  }

  private flush(): void {
    // One request per credit the parent granted; the rest wait for the next `sendable`.
    while (this.queued.length > 0 && this.budget.available() > 0) {
      const request = this.queued.shift()!;
      this.sender.send({
        message_id: request.id,
        to: CbsWire.Address,
        reply_to: CbsWire.ReplyTo,
        application_properties: { [CbsWire.Operation]: CbsWire.PutToken, [CbsWire.Type]: CbsWire.SasTokenType, [CbsWire.Name]: request.audience },
        body: request.token,
      });
      this.budget.used();
    }
  }
}
