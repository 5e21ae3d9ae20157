import { randomUUID } from 'node:crypto';
import rhea, { type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { bodyBytes, idText } from '../amqp-common/index.js';
import type { TwinProperties, TwinService } from '../twin/index.js';
import { closeQuietly, relayLinkProperties } from './relay-link-options.js';
import type { ReportedOutbox } from './reported-outbox.js';
import type { TwinSync } from './twin-sync.js';
import { desiredOf, mirrorParentDesired, NO_ANSWER, reportedAnswered } from './twin-mirror.js';
import { SettleMode, TwinWire, twinAddress } from './upstream-constants.js';
import type { RelayLinkOptions } from './upstream-relay.js';

/** A twin request the parent does not answer in this time counts as failed (status 0). */
const REQUEST_TIMEOUT_MS = 30_000;
const HTTP_OK_MIN = 200;
const HTTP_OK_MAX = 299;

export interface TwinRelayOptions extends RelayLinkOptions {
  readonly moduleId: string | undefined;
  readonly twinId: string;
  readonly twins: TwinService;
  readonly outbox: ReportedOutbox;
  /** Whether attaching re-pulls the twin now (MinTwinSyncPeriod), and who is told the links are ready. */
  readonly sync: TwinSync;
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * The identity's twin link pair on the parent (`/devices/{d}[/modules/{m}]/twin`, the SDK's
 * properties and settle modes). Once attached: GET the parent's twin and take its desired section
 * (subscribed clients here get the difference as one patch: Azure's re-pull after reconnect),
 * subscribe to desired patches (PUT) while a client here is subscribed, and send the reported
 * patches of the outbox in order, one PATCH each, each leaving the outbox once answered. Desired
 * patches from the parent (no correlation-id, annotation `version`) update the twin here, which
 * notifies its subscribers.
 */
export class TwinRelay {
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly waiting = new Map<string, { resolve: (answer: Answer) => void; timer: NodeJS.Timeout }>();
  private ready = false;
  private closed = false;
  private wantDesired = false;
  private subscribedUpstream = false;

  constructor(private readonly options: TwinRelayOptions) {
    const address = twinAddress(options.deviceId, options.moduleId);
    const properties = relayLinkProperties(options.clientVersion, 'twin', options.authChain);
    this.sender = options.session.attach_sender({ target: { address }, source: {}, properties, snd_settle_mode: SettleMode.SenderSettled, rcv_settle_mode: SettleMode.ReceiverFirst });
    this.receiver = options.session.attach_receiver({ source: { address }, target: {}, properties, snd_settle_mode: SettleMode.SenderSettled, rcv_settle_mode: SettleMode.ReceiverFirst, autoaccept: true });
    this.receiver.on('message', (context: EventContext) => this.received(context.message));
    this.sender.once('sendable', () => void this.start());
    this.sender.on('sender_close', () => this.lost(this.sender.error));
    this.sender.on('sender_error', () => this.lost(this.sender.error));
    this.receiver.on('receiver_close', () => this.lost(this.receiver.error));
    this.receiver.on('receiver_error', () => this.lost(this.receiver.error));
  }

  /** Whether a client here is subscribed to desired patches: the parent is asked to send them (PUT) or to stop (DELETE). */
  setDesired(wanted: boolean): void {
    this.wantDesired = wanted;
    if (this.ready) this.syncSubscription();
  }

  /** Sends what the outbox has waiting (after the first GET). */
  flush(): void {
    if (!this.ready || this.closed) return;
    for (let patch = this.options.outbox.take(); patch !== undefined; patch = this.options.outbox.take()) {
      const sent = patch;
      void this.request(TwinWire.Patch, TwinWire.ReportedResource, JSON.stringify(sent)).then((answer) => this.patched(sent, answer));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.options.sync.gone(this.options.twinId, this);
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      this.waiting.delete(id);
      waiter.resolve({ status: NO_ANSWER, body: Buffer.alloc(0) });
    }
    closeQuietly(this.sender);
    closeQuietly(this.receiver);
  }

  private lost(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.options.failed((error as { condition?: string } | undefined)?.condition);
  }

  private async start(): Promise<void> {
    if (this.options.sync.shouldRepull(this.options.twinId) && !(await this.repull())) return;
    if (this.closed) return;
    this.ready = true;
    this.options.sync.ready(this.options.twinId, this);
    this.syncSubscription();
    this.flush();
  }

  /**
   * GETs the parent's twin and takes its desired section (subscribed clients here get the
   * difference as one patch); false, and the links dropped, when the parent does not answer 200.
   */
  async repull(): Promise<boolean> {
    const answer = await this.request(TwinWire.Get, undefined, TwinWire.EmptyBody);
    if (this.closed) return false;
    if (answer.status !== HTTP_OK_MIN) {
      this.lost({ condition: `twin GET answered ${answer.status}` });
      return false;
    }
    const desired = desiredOf(answer.body);
    if (desired !== undefined) {
      const result = await this.options.twins.mirrorDesired(this.options.twinId, { section: desired }, desired.$version as number);
      if (!result.ok) this.options.logger.warn({ event: 'upstream.twin_mirror_failed', twinId: this.options.twinId, status: result.status }, 'the parent\'s desired properties could not be stored here');
    }
    this.options.logger.debug({ event: 'upstream.twin_synced', twinId: this.options.twinId, desiredVersion: desired?.$version }, 'desired properties re-pulled from the parent');
    return !this.closed;
  }

  /** The parent's desired section for a client's GET, or undefined when it does not answer 200 within `timeoutMs` (the links stay). */
  async getDesired(timeoutMs: number): Promise<TwinProperties | undefined> {
    if (!this.ready) return undefined;
    const answer = await this.request(TwinWire.Get, undefined, TwinWire.EmptyBody, timeoutMs);
    return answer.status === HTTP_OK_MIN ? desiredOf(answer.body) : undefined;
  }

  private syncSubscription(): void {
    if (this.wantDesired === this.subscribedUpstream) return;
    this.subscribedUpstream = this.wantDesired;
    const operation = this.wantDesired ? TwinWire.Put : TwinWire.Delete;
    void this.request(operation, TwinWire.DesiredResource, TwinWire.EmptyBody).then((answer) => {
      if (this.closed || (answer.status >= HTTP_OK_MIN && answer.status <= HTTP_OK_MAX)) return;
      this.lost({ condition: `twin ${operation} answered ${answer.status}` });
    });
  }

  private patched(patch: TwinProperties, answer: Answer): void {
    const { twins, outbox, twinId, logger } = this.options;
    // No answer or a server error: the links are dropped, and the patch is sent again on new ones.
    if (reportedAnswered(twins, outbox, twinId, patch, answer.status, logger) === 'retry') this.lost({ condition: `reported PATCH answered ${answer.status}` });
  }

  private request(operation: string, resource: string | undefined, body: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
    if (this.closed) return Promise.resolve({ status: NO_ANSWER, body: Buffer.alloc(0) });
    const correlationId = randomUUID();
    const annotations: Record<string, string> = { [TwinWire.Operation]: operation };
    if (resource !== undefined) annotations[TwinWire.Resource] = resource;
    const answer = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        resolve({ status: NO_ANSWER, body: Buffer.alloc(0) });
      }, timeoutMs);
      timer.unref();
      this.waiting.set(correlationId, { resolve, timer });
    });
    this.sender.send({ correlation_id: correlationId, message_annotations: annotations, body: rhea.message.data_section(Buffer.from(body, 'utf8')) });
    return answer;
  }

  private received(message: Message | undefined): void {
    if (message === undefined) return;
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    const correlationId = idText(message.correlation_id);
    if (correlationId !== undefined) {
      const waiter = this.waiting.get(correlationId);
      if (waiter === undefined) return;
      this.waiting.delete(correlationId);
      clearTimeout(waiter.timer);
      waiter.resolve({ status: Number(annotations[TwinWire.Status]), body: bodyBytes(message.body) });
      return;
    }
    // A desired patch: applied here in arrival order.
    const { twins, twinId, logger, sync } = this.options;
    mirrorParentDesired(twins, twinId, Number(annotations[TwinWire.Version]), bodyBytes(message.body), logger, () => sync.outOfOrder(twinId, this));
  }
}
