import type { Connection, Delivery, EventContext, Sender, Session } from 'rhea';
import type { DeliveryOutcome } from '../endpoints/index.js';
import type { Logger } from '../../log/index.js';
import { BATCHED_MESSAGE_FORMAT, BatchBuilder } from '../amqp-common/index.js';
import type { HubMessage } from '../message/index.js';
import { addUpstreamMessage, encodeUpstreamMessage } from '../transport/amqp/module-input-encoder.js';
import type { FanOutGate } from './fan-out-gate.js';
import { SendBudget } from './send-budget.js';
import { API_VERSION, LinkProperty, TRANSIENT_CONDITIONS, eventsAddress, tokenAudience } from './upstream-constants.js';
import type { UpstreamCbs } from './upstream-cbs.js';
import { signSasToken } from './sas-signer.js';
import type { UpstreamCredential } from './upstream-credentials.js';

export interface ChannelContext {
  readonly connection: Connection;
  readonly cbs: UpstreamCbs;
  readonly iotHubHostname: string;
  readonly clientVersion: string;
  readonly tokenTtlMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Most messages in one batched transfer (upstream.maxBatchSize; 1: one transfer per message). */
  readonly maxBatchSize: number;
  /** Identities with transfers in flight at once (upstream.fanOutFactor), shared by every channel. */
  readonly fanOut: FanOutGate;
  readonly logger: Logger;
  /** The channel failed (its link or session detached): the link forgets it; the next message opens a new one. */
  failed(channel: IdentityChannel): void;
  /** The identity's token was accepted: `session` is where its other links (the relay's) attach. */
  authenticated(channel: IdentityChannel, session: Session): void;
  /** The channel's session is gone (closed, failed, refused, the connection lost). */
  ended(channel: IdentityChannel): void;
}

type State = 'authenticating' | 'ready' | 'refused' | 'closed';

interface Pending {
  readonly message: HubMessage;
  readonly onSettled: (outcome: DeliveryOutcome) => void;
}

type Settle = (outcome: DeliveryOutcome) => void;

/** A batch's bound in bytes (Azure: MaxUpstreamBatchSize messages and at most 256 KiB, `CloudEndpoint.GetBatchSize`). */
const MAX_BATCH_BYTES = 256 * 1024;
/** Every channel's batches are written here, one at a time (flush is synchronous), and copied out whole; made on first use. */
let sharedBatch: BatchBuilder | undefined;

/** Renew a token once this share of its lifetime has passed (the Azure SDK renews at 45 of 60 minutes). */
const RENEW_AT_SHARE = 0.75;
const MS_PER_SEC = 1000;

/**
 * One identity (the edge device, one of its modules, a child device) on the upstream connection:
 * its own session, its token put on `$cbs` and renewed before it expires, and one sending link on
 * its events address. Messages keep their order: they queue here until the link has credit and
 * are sent in the order given. The parent's `accepted` acknowledges a message; a `rejected` with a
 * transient condition, `released`, `modified`, or a link or connection that goes first loses it
 * (the store sends it again, in order); any other `rejected` makes it undeliverable.
 */
export class IdentityChannel {
  private state: State = 'authenticating';
  private session: Session | undefined;
  private sender: Sender | undefined;
  private budget: SendBudget | undefined;
  private readonly pending: Pending[] = [];
  /** Each transfer in flight and the messages it carries (one, or a batch), in order. */
  private readonly unsettled = new Map<Delivery, Settle | Settle[]>();
  private readonly member = { resume: () => this.flush() };
  private renewTimer: NodeJS.Timeout | undefined;
  private refusals = 0;
  private flushScheduled = false;
  private retryAtMs = 0;

  constructor(
    private readonly ctx: ChannelContext,
    readonly identity: string,
    private readonly deviceId: string,
    private readonly moduleId: string | undefined,
    private readonly credential: UpstreamCredential,
  ) {
    this.open();
  }

  /**
   * Queues a message for this identity; false when nothing was taken because the parent refused
   * the identity's token and the retry is not due yet (the store tries again later).
   */
  send(message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean {
    if (!this.ensureOpen()) return false;
    this.pending.push({ message, onSettled });
    // After the store's pump has handed over all it has (synchronously, one message per call), so
    // a batch takes them together instead of the first going alone.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /** False when closed, or refused and its retry not due yet; a refused channel whose retry is due opens again. */
  ensureOpen(): boolean {
    if (this.state === 'closed') return false;
    if (this.state === 'refused') {
      if (Date.now() < this.retryAtMs) return false;
      this.open();
    }
    return true;
  }

  /** The session the relay's links share, once the token is accepted (undefined before). */
  get authenticatedSession(): Session | undefined {
    return this.state === 'authenticating' && this.sender === undefined ? undefined : this.session;
  }

  /** The connection went: nothing more is sent, and every message not acknowledged is lost (sent again later). */
  connectionLost(): void {
    this.close();
  }

  private open(): void {
    this.state = 'authenticating';
    const session = this.ctx.connection.create_session();
    this.session = session;
    session.begin();
    void this.authenticate(true);
  }

  private async authenticate(first: boolean): Promise<void> {
    const audience = tokenAudience(this.ctx.iotHubHostname, this.deviceId, this.moduleId);
    const expirySec = Math.floor((Date.now() + this.ctx.tokenTtlMs) / MS_PER_SEC);
    // On behalf of: the put-token names this identity, the token is this edge device's own.
    const signer = tokenAudience(this.ctx.iotHubHostname, this.credential.signerDeviceId, this.credential.signerModuleId);
    const answer = await this.ctx.cbs.putToken(audience, signSasToken(signer, this.credential.key, expirySec));
    if (this.state === 'closed') return;
    if (answer.status !== 200) {
      if (!first) {
        // The current token stays good until it expires; the parent detaches the link then.
        this.ctx.logger.warn({ event: 'upstream.token_renewal_failed', identity: this.identity, status: answer.status, code: 'OUTPOST_UPSTREAM_TOKEN_REFUSED' }, 'the parent did not renew a token; retrying');
        this.scheduleRenewal(this.ctx.retryMinMs * 10);
        return;
      }
      this.refused(answer.status, answer.description);
      return;
    }
    this.refusals = 0;
    this.scheduleRenewal(this.ctx.tokenTtlMs * RENEW_AT_SHARE);
    if (first) {
      this.attach();
      this.ctx.authenticated(this, this.session!);
    }
  }

  private scheduleRenewal(delayMs: number): void {
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      void this.authenticate(false);
    }, delayMs);
    this.renewTimer.unref();
  }

  private refused(status: number, description: string): void {
    this.refusals++;
    const retryInMs = Math.min(this.ctx.retryMinMs * 2 ** (this.refusals - 1), this.ctx.retryMaxMs);
    this.retryAtMs = Date.now() + retryInMs;
    this.ctx.logger.warn(
      { event: 'upstream.token_refused', identity: this.identity, status, description, code: 'OUTPOST_UPSTREAM_TOKEN_REFUSED', retryInMs },
      'the parent refused this identity\'s token; its messages stay in the store and are sent once a token is accepted',
    );
    this.dropLinks();
    this.loseAll();
    this.state = 'refused';
  }

  private attach(): void {
    const session = this.session!;
    // The telemetry link's properties as edge hub's upstream client (the C# device SDK) sends them:
    // client-version and api-version, no channel-correlation-id (neither SDK sends one on telemetry;
    // test/upstream/sdk-differential.test.ts compares them with the Node SDK's).
    const sender = session.attach_sender({
      target: { address: eventsAddress(this.deviceId, this.moduleId) },
      properties: {
        [LinkProperty.ClientVersion]: this.ctx.clientVersion,
        [LinkProperty.ApiVersion]: API_VERSION,
        ...(this.credential.authChain === undefined ? {} : { [LinkProperty.AuthChain]: this.credential.authChain }),
      },
      autosettle: true,
    });
    this.sender = sender;
    this.budget = new SendBudget(sender, () => this.flush());
    sender.on('sendable', () => {
      if (this.state === 'authenticating' && this.sender === sender) this.state = 'ready';
      this.flush();
    });
    sender.on('accepted', (context: EventContext) => this.settle(context.delivery, 'acked'));
    sender.on('rejected', (context: EventContext) => {
      const condition = (context.delivery?.remote_state as { error?: { condition?: string } } | undefined)?.error?.condition ?? '';
      const transient = TRANSIENT_CONDITIONS.has(condition);
      this.ctx.logger.warn({ event: 'upstream.message_rejected', identity: this.identity, condition, transient }, transient ? 'the parent rejected a message for now; sent again later' : 'the parent rejected a message; dropped as undeliverable');
      this.settle(context.delivery, transient ? 'lost' : 'rejected');
    });
    sender.on('released', (context: EventContext) => this.settle(context.delivery, 'lost'));
    sender.on('modified', (context: EventContext) => this.settle(context.delivery, 'lost'));
    // Only the current link counts: one dropped after a refusal may still report its close.
    sender.on('sender_close', () => this.sender === sender && this.linkFailed(sender.error));
    sender.on('sender_error', () => this.sender === sender && this.linkFailed(sender.error));
    session.on('session_close', () => this.session === session && this.linkFailed(session.error));
    session.on('session_error', () => this.session === session && this.linkFailed(session.error));
  }

  private linkFailed(error: unknown): void {
    if (this.state === 'closed' || this.state === 'refused') return;
    const condition = (error as { condition?: string } | undefined)?.condition;
    this.ctx.logger.warn({ event: 'upstream.link_failed', identity: this.identity, condition, code: 'OUTPOST_UPSTREAM_LINK_FAILED' }, 'an upstream link was detached by the parent; its unsettled messages are sent again');
    this.close();
    this.ctx.failed(this);
  }

  private settle(delivery: Delivery | undefined, outcome: DeliveryOutcome): void {
    if (delivery === undefined) return;
    const onSettled = this.unsettled.get(delivery);
    if (onSettled === undefined) return;
    this.unsettled.delete(delivery);
    if (typeof onSettled === 'function') onSettled(outcome);
    else for (const each of onSettled) each(outcome);
    if (this.unsettled.size === 0) {
      this.ctx.fanOut.idle(this.member, this.pending.length > 0);
      this.flush();
    }
  }

  /**
   * Sends what the credit allows, once this identity holds a fan-out slot: up to `maxBatchSize`
   * messages (and 256 KiB, or the parent's max-message-size) per transfer, as one batched
   * message; a lone message goes as a plain transfer, as Azure's `SendEventAsync`.
   */
  private flush(): void {
    if (this.state !== 'ready' || this.sender === undefined || this.budget === undefined) {
      this.ctx.fanOut.leave(this.member);
      return;
    }
    if (this.pending.length === 0 || !this.ctx.fanOut.enter(this.member)) return;
    const maxBytes = Math.min(MAX_BATCH_BYTES, this.maxMessageBytes());
    let available = this.budget.available();
    while (available > 0 && this.pending.length > 0) {
      const first = this.pending.shift()!;
      if (this.ctx.maxBatchSize === 1 || this.pending.length === 0) {
        this.unsettled.set(this.sender.send(encodeUpstreamMessage(first.message), undefined, 0), first.onSettled);
      } else {
        const batch = (sharedBatch ??= new BatchBuilder());
        batch.reset();
        addUpstreamMessage(first.message, batch, maxBytes);
        const settles: Settle[] = [first.onSettled];
        // A message that does not fit stays first in line, for the next transfer (rare: batches near 256 KiB).
        while (settles.length < this.ctx.maxBatchSize && this.pending.length > 0 && addUpstreamMessage(this.pending[0]!.message, batch, maxBytes)) {
          settles.push(this.pending.shift()!.onSettled);
        }
        if (settles.length === 1) this.unsettled.set(this.sender.send(batch.onlyPart(), undefined, 0), first.onSettled);
        else this.unsettled.set(this.sender.send(batch.finish(), undefined, BATCHED_MESSAGE_FORMAT), settles);
      }
      this.budget.used();
      available--;
    }
  }

  /** The parent's max-message-size for this link (0 or absent: no limit). */
  private maxMessageBytes(): number {
    const size = Number((this.sender as unknown as { remote?: { attach?: { max_message_size?: unknown } } }).remote?.attach?.max_message_size ?? 0);
    return Number.isFinite(size) && size > 0 ? size : Number.MAX_SAFE_INTEGER;
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    this.dropLinks();
    this.loseAll();
  }

  private dropLinks(): void {
    const session = this.session;
    if (session !== undefined) this.ctx.ended(this);
    this.sender = undefined;
    this.budget = undefined;
    this.session = undefined;
    if (session !== undefined) {
      session.removeAllListeners();
      // Ignored when the connection is already gone.
      try {
        if (session.is_open()) session.close();
      } catch {
        /* the connection closed under it */
      }
    }
  }

  /** Every message not acknowledged, sent or not, goes back to the store (in the store's order). */
  private loseAll(): void {
    const unsettled = [...this.unsettled.values()];
    this.unsettled.clear();
    const pending = this.pending.splice(0);
    this.ctx.fanOut.leave(this.member);
    for (const onSettled of unsettled) {
      if (typeof onSettled === 'function') onSettled('lost');
      else for (const each of onSettled) each('lost');
    }
    for (const item of pending) item.onSettled('lost');
  }
}
