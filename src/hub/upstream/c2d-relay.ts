import { randomUUID } from 'node:crypto';
import type { Delivery, EventContext, Message, Receiver } from 'rhea';
import { bodyBytes, idText } from '../amqp-common/index.js';
import { C2D_LIMITS, type C2dFeedback, type C2dMessage, type C2dService } from '../c2d/index.js';
import { closeQuietly, relayLinkProperties } from './relay-link-options.js';
import { C2dWire, deviceboundAddress } from './upstream-constants.js';
import type { RelayLinkOptions } from './upstream-relay.js';

/** The parent sends one C2D message at a time; a little more credit costs nothing. */
const C2D_CREDIT = 10;
const MS_PER_SEC = 1000;

export interface C2dRelayOptions extends RelayLinkOptions {
  readonly c2d: C2dService;
}

/**
 * Cloud-to-device messages relayed down (the SDK's receiver on `/devices/{d}/messages/devicebound`):
 * each message from the parent goes to the device's current C2D target on this hub
 * (C2dService.relay, not stored here) and the parent's delivery stays unsettled until the device
 * settles it: complete → `accepted`, reject → `rejected`, abandon or a lost delivery → `released`
 * (the parent puts it back at the head of its queue). Azure's edge hub relays C2D the same way.
 */
export class C2dRelay {
  private readonly receiver: Receiver;
  private closed = false;

  constructor(private readonly options: C2dRelayOptions) {
    const address = deviceboundAddress(options.deviceId);
    this.receiver = options.session.attach_receiver({ source: { address }, target: {}, properties: relayLinkProperties(options.clientVersion, undefined, options.authChain), autoaccept: false, credit_window: C2D_CREDIT });
    this.receiver.on('message', (context: EventContext) => this.message(context));
    this.receiver.on('receiver_close', () => this.lost(this.receiver.error));
    this.receiver.on('receiver_error', () => this.lost(this.receiver.error));
  }

  close(): void {
    this.closed = true;
    closeQuietly(this.receiver);
  }

  private lost(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.options.failed((error as { condition?: string } | undefined)?.condition);
  }

  private message(context: EventContext): void {
    const { message, delivery } = context;
    if (message === undefined || delivery === undefined) return;
    const relayed = this.options.c2d.relay(c2dMessageOf(this.options.deviceId, message), (feedback) => settle(delivery, feedback));
    if (!relayed) settle(delivery, 'lost');
    else if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ event: 'upstream.c2d_relayed', deviceId: this.options.deviceId }, 'a C2D message from the parent is relayed to the device');
  }
}

function settle(delivery: Delivery, feedback: C2dFeedback): void {
  try {
    if (feedback === 'completed') delivery.accept();
    else if (feedback === 'rejected') delivery.reject();
    else delivery.release();
  } catch {
    /* the link or connection went first: the parent sends it again */
  }
}

/** The parent's C2D message as this hub's C2D service delivers it (the ids, properties and times it sent). */
function c2dMessageOf(deviceId: string, message: Message): Omit<C2dMessage, 'seq'> {
  const nowMs = Date.now();
  const enqueued = (message.message_annotations as Record<string, unknown> | undefined)?.[C2dWire.EnqueuedTime];
  const expiry = message.absolute_expiry_time as unknown;
  const properties: Record<string, string> = {};
  const application = (message.application_properties ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(application)) {
    const value = application[key];
    if (value !== undefined && value !== null) Object.defineProperty(properties, key, { value: String(value), enumerable: true, writable: true, configurable: true });
  }
  const correlationId = idText(message.correlation_id);
  const userId = message.user_id === undefined || message.user_id === null ? undefined : Buffer.isBuffer(message.user_id) ? message.user_id.toString('utf8') : String(message.user_id);
  return {
    deviceId,
    messageId: idText(message.message_id) ?? randomUUID(),
    ...(correlationId !== undefined ? { correlationId } : {}),
    ...(userId !== undefined ? { userId } : {}),
    ...(typeof message.content_type === 'string' ? { contentType: message.content_type } : {}),
    ...(typeof message.content_encoding === 'string' ? { contentEncoding: message.content_encoding } : {}),
    enqueuedAtMs: enqueued instanceof Date ? enqueued.getTime() : typeof enqueued === 'number' ? enqueued : nowMs,
    expiresAtMs: expiry instanceof Date && !Number.isNaN(expiry.getTime()) ? expiry.getTime() : nowMs + C2D_LIMITS.defaultTtlSec * MS_PER_SEC,
    properties,
    body: bodyBytes(message.body),
  };
}
