import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log/index.js';
import { C2D_LIMITS, C2dStatus, type C2dLimits } from './c2d-limits.js';
import type { C2dDeliveries, C2dDeliveryTarget, C2dFeedback, C2dMessage } from './c2d-message.js';
import type { C2dStore } from './c2d-store.js';

/** What the operator (or later the cloud link) sends; ids and TTL are optional. */
export interface C2dSendInput {
  readonly body: Buffer;
  readonly properties?: Readonly<Record<string, string>>;
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly userId?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly ttlSec?: number;
}

export type C2dSendResult =
  | { readonly ok: true; readonly messageId: string; readonly queued: number; readonly expiryTimeUtc: string }
  | C2dFailure;

export interface C2dFailure {
  readonly ok: false;
  readonly status: number;
  readonly code: 'OUTPOST_C2D_DEVICE_NOT_FOUND' | 'OUTPOST_C2D_MESSAGE_INVALID' | 'OUTPOST_C2D_MESSAGE_TOO_LARGE' | 'OUTPOST_C2D_QUEUE_FULL' | 'OUTPOST_C2D_STORE_FAILED';
  readonly reason: string;
}

export interface C2dCounters {
  queued: number;
  delivered: number;
  redelivered: number;
  expired: number;
  undeliverable: number;
}

interface DeviceQueue {
  readonly messages: C2dMessage[];
  /** Deliveries of each message so far (not persisted: after a restart they count from 0). */
  readonly attempts: Map<number, number>;
  /** Sends being written: they count toward the depth limit before they join `messages`. */
  reserved: number;
  target: C2dDeliveryTarget | undefined;
  /** Messages relayed from the upstream (never stored), by seq: who to tell the device's feedback. */
  readonly relayed: Map<number, (feedback: C2dFeedback) => void>;
  inflight: number | undefined;
  retry: NodeJS.Timeout | undefined;
}

export interface C2dServiceOptions {
  readonly store: C2dStore;
  readonly logger: Logger;
  /** Whether a device is in the identity registry (C2D is for devices, never modules). */
  readonly deviceExists: (deviceId: string) => boolean;
  readonly limits?: C2dLimits;
}

/** How long a connected device's lost message waits before it is sent again on the same target. */
const RETRY_SAME_TARGET_MS = 1_000;

/**
 * Cloud-to-device messages, protocol-neutral (docs/c2d.md): one durable FIFO queue per device,
 * filled by `send` (acknowledged once the message is in the store) and delivered at least once, in
 * order, one message in flight at a time, to whichever transport registered the device's target.
 * A message leaves its queue when the device completes it (MQTT PUBACK), when its TTL passes
 * (never delivered once expired) or when a transport can never deliver it; a lost delivery
 * (disconnect before the acknowledgement) is sent again first when the device is back.
 */
export class C2dService implements C2dDeliveries {
  readonly counters: C2dCounters = { queued: 0, delivered: 0, redelivered: 0, expired: 0, undeliverable: 0 };
  private readonly devices = new Map<string, DeviceQueue>();
  private readonly limits: C2dLimits;
  private nextSeq = 1;
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: C2dServiceOptions) {
    this.limits = options.limits ?? C2D_LIMITS;
  }

  static async open(options: C2dServiceOptions): Promise<C2dService> {
    const service = new C2dService(options);
    for (const message of await options.store.open()) {
      service.queueOf(message.deviceId).messages.push(message);
      service.nextSeq = Math.max(service.nextSeq, message.seq + 1);
      service.counters.queued++;
    }
    service.sweep = setInterval(() => service.expireNow(), service.limits.sweepIntervalMs);
    service.sweep.unref();
    options.logger.info({ event: 'c2d.opened', durable: options.store.durable, queued: service.counters.queued, devices: service.devices.size }, 'C2D queues open');
    return service;
  }

  async send(deviceId: string, input: C2dSendInput): Promise<C2dSendResult> {
    if (!this.options.deviceExists(deviceId)) {
      return failure(C2dStatus.NotFound, 'OUTPOST_C2D_DEVICE_NOT_FOUND', `device ${deviceId} is not in the identity registry (\`outpost identity list\`)`);
    }
    const invalid = this.invalid(input);
    if (invalid !== undefined) return failure(C2dStatus.BadRequest, 'OUTPOST_C2D_MESSAGE_INVALID', invalid);
    const bytes = sizeOf(input);
    if (bytes > this.limits.maxMessageBytes) {
      return failure(C2dStatus.TooLarge, 'OUTPOST_C2D_MESSAGE_TOO_LARGE', `the message is ${bytes} bytes (body and properties); the limit is ${this.limits.maxMessageBytes}`);
    }
    const queue = this.queueOf(deviceId);
    this.dropExpired(deviceId, queue, Date.now());
    const depth = queue.messages.length + queue.reserved;
    if (depth >= this.limits.maxQueueDepth) {
      return failure(C2dStatus.QueueFull, 'OUTPOST_C2D_QUEUE_FULL', `device ${deviceId} already has ${depth} messages queued (the limit is ${this.limits.maxQueueDepth}); they leave as the device completes them or they expire`);
    }
    const nowMs = Date.now();
    const message: C2dMessage = {
      seq: this.nextSeq++,
      deviceId,
      messageId: input.messageId ?? randomUUID(),
      ...(input.correlationId !== undefined ? { correlationId: input.correlationId } : {}),
      ...(input.userId !== undefined ? { userId: input.userId } : {}),
      ...(input.contentType !== undefined ? { contentType: input.contentType } : {}),
      ...(input.contentEncoding !== undefined ? { contentEncoding: input.contentEncoding } : {}),
      enqueuedAtMs: nowMs,
      expiresAtMs: nowMs + (input.ttlSec ?? this.limits.defaultTtlSec) * 1000,
      properties: { ...input.properties },
      body: input.body,
    };
    // Reserved before the write, so concurrent sends cannot pass the depth limit; delivered only
    // once durable. Writes complete in order, so the queue keeps the order of `seq`.
    queue.reserved++;
    try {
      await this.options.store.put(message);
    } catch (error) {
      return failure(C2dStatus.Internal, 'OUTPOST_C2D_STORE_FAILED', `the C2D store could not write: ${String(error)}`);
    } finally {
      queue.reserved--;
    }
    queue.messages.push(message);
    this.counters.queued++;
    this.options.logger.info({ event: 'c2d.message_queued', deviceId, messageId: message.messageId, bytes, queued: queue.messages.length }, 'C2D message queued');
    this.pump(deviceId);
    return { ok: true, messageId: message.messageId, queued: queue.messages.length, expiryTimeUtc: new Date(message.expiresAtMs).toISOString() };
  }

  /** The device's queue, oldest first (expired messages already removed). */
  list(deviceId: string): { readonly message: C2dMessage; readonly deliveries: number; readonly inflight: boolean }[] {
    const queue = this.devices.get(deviceId);
    if (queue === undefined) return [];
    this.dropExpired(deviceId, queue, Date.now());
    return queue.messages.map((message) => ({ message, deliveries: queue.attempts.get(message.seq) ?? 0, inflight: queue.inflight === message.seq }));
  }

  deviceExists(deviceId: string): boolean {
    return this.options.deviceExists(deviceId);
  }

  attach(deviceId: string, target: C2dDeliveryTarget): () => void {
    const queue = this.queueOf(deviceId);
    queue.target = target;
    // After the current turn: a transport registers while answering a SUBSCRIBE, and the first
    // PUBLISH should follow its SUBACK (as retained messages do, MQTT-3.8.4).
    queueMicrotask(() => this.pump(deviceId));
    return () => {
      if (queue.target !== target) return;
      queue.target = undefined;
      // Relayed messages wait for no one: the upstream holds them and sends them again.
      for (const message of [...queue.messages]) if (message.seq !== queue.inflight) this.giveBack(deviceId, queue, message);
    };
  }

  /**
   * A message relayed from the upstream, which holds it until the device settles it (Azure's edge
   * hub relays C2D, it does not store it): delivered to the device's current target after what is
   * queued here, never written to the store, never retried here. `onFeedback` is called once with
   * the device's feedback, or `lost` when the delivery is lost, the message expires or the target
   * goes (the upstream sends it again). False when the device has no target now.
   */
  relay(message: Omit<C2dMessage, 'seq'>, onFeedback: (feedback: C2dFeedback) => void): boolean {
    const queue = this.devices.get(message.deviceId);
    if (queue === undefined || queue.target === undefined || this.closed) return false;
    const relayed: C2dMessage = { ...message, seq: this.nextSeq++ };
    queue.relayed.set(relayed.seq, onFeedback);
    queue.messages.push(relayed);
    this.counters.queued++;
    this.pump(message.deviceId);
    return true;
  }

  /** A relayed message leaves the queue unsettled: its upstream gets it back (`lost`). */
  private giveBack(deviceId: string, queue: DeviceQueue, message: C2dMessage): boolean {
    const onFeedback = queue.relayed.get(message.seq);
    if (onFeedback === undefined) return false;
    this.removeMessage(deviceId, queue, message);
    onFeedback('lost');
    return true;
  }

  /** Removes every expired message that is not in flight; returns how many. */
  expireNow(): number {
    const nowMs = Date.now();
    let removed = 0;
    for (const [deviceId, queue] of this.devices) removed += this.dropExpired(deviceId, queue, nowMs);
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweep !== undefined) clearInterval(this.sweep);
    for (const queue of this.devices.values()) if (queue.retry !== undefined) clearTimeout(queue.retry);
    await this.options.store.close();
  }

  private queueOf(deviceId: string): DeviceQueue {
    let queue = this.devices.get(deviceId);
    if (queue === undefined) {
      queue = { messages: [], attempts: new Map(), reserved: 0, target: undefined, relayed: new Map(), inflight: undefined, retry: undefined };
      this.devices.set(deviceId, queue);
    }
    return queue;
  }

  private pump(deviceId: string): void {
    const queue = this.devices.get(deviceId);
    if (queue === undefined || this.closed || queue.target === undefined || queue.inflight !== undefined || queue.retry !== undefined) return;
    this.dropExpired(deviceId, queue, Date.now());
    const message = queue.messages[0];
    if (message === undefined) return;
    const target = queue.target;
    const attempt = (queue.attempts.get(message.seq) ?? 0) + 1;
    queue.attempts.set(message.seq, attempt);
    if (attempt > 1) this.counters.redelivered++;
    queue.inflight = message.seq;
    target.deliver(message).then(
      (feedback) => this.settled(deviceId, queue, message, target, feedback),
      () => this.settled(deviceId, queue, message, target, 'lost'),
    );
  }

  private settled(deviceId: string, queue: DeviceQueue, message: C2dMessage, target: C2dDeliveryTarget, feedback: C2dFeedback): void {
    if (queue.inflight !== message.seq) return;
    queue.inflight = undefined;
    const relayed = queue.relayed.get(message.seq);
    if (relayed !== undefined) {
      this.removeMessage(deviceId, queue, message);
      relayed(feedback);
      this.pump(deviceId);
      return;
    }
    if (feedback === 'lost') {
      // Normally the connection is gone and so is its target; one still attached is given a pause.
      if (queue.target === target && !this.closed) {
        queue.retry = setTimeout(() => {
          queue.retry = undefined;
          this.pump(deviceId);
        }, RETRY_SAME_TARGET_MS);
        queue.retry.unref();
      } else this.pump(deviceId);
      return;
    }
    if (feedback === 'completed') this.counters.delivered++;
    else {
      this.counters.undeliverable++;
      this.options.logger.warn({ event: 'c2d.message_undeliverable', code: 'OUTPOST_C2D_UNDELIVERABLE', deviceId, messageId: message.messageId }, 'a C2D message can never be delivered to this device; removed from its queue');
    }
    if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ event: 'c2d.message_completed', deviceId, messageId: message.messageId, feedback }, 'C2D message settled');
    this.removeMessage(deviceId, queue, message);
    this.pump(deviceId);
  }

  /** Expired messages leave from anywhere in the queue except the one in flight. */
  private dropExpired(deviceId: string, queue: DeviceQueue, nowMs: number): number {
    let removed = 0;
    for (const message of [...queue.messages]) {
      if (message.expiresAtMs > nowMs || message.seq === queue.inflight) continue;
      if (!this.giveBack(deviceId, queue, message)) this.removeMessage(deviceId, queue, message);
      this.counters.expired++;
      removed++;
      this.options.logger.info({ event: 'c2d.message_expired', code: 'OUTPOST_C2D_MESSAGE_EXPIRED', deviceId, messageId: message.messageId, expiryTimeUtc: new Date(message.expiresAtMs).toISOString() }, 'C2D message expired before the device completed it; removed');
    }
    return removed;
  }

  private removeMessage(deviceId: string, queue: DeviceQueue, message: C2dMessage): void {
    const at = queue.messages.indexOf(message);
    if (at === -1) return;
    queue.messages.splice(at, 1);
    queue.attempts.delete(message.seq);
    this.counters.queued--;
    if (queue.relayed.delete(message.seq)) return;
    // Not awaited: a removal that does not reach the disk only means the message comes again
    // after a restart (at least once); the store logs the failure.
    this.options.store.remove(deviceId, message.seq).catch(() => undefined);
  }

  private invalid(input: C2dSendInput): string | undefined {
    if (input.ttlSec !== undefined && !(Number.isInteger(input.ttlSec) && input.ttlSec > 0 && input.ttlSec <= this.limits.maxTtlSec)) {
      return `ttlSec must be a whole number of seconds from 1 to ${this.limits.maxTtlSec}`;
    }
    for (const [name, value] of [['messageId', input.messageId], ['correlationId', input.correlationId], ['userId', input.userId], ['contentType', input.contentType], ['contentEncoding', input.contentEncoding]] as const) {
      if (value !== undefined && (typeof value !== 'string' || value.length === 0)) return `${name} must be a non-empty string`;
    }
    for (const [key, value] of Object.entries(input.properties ?? {})) {
      if (key.length === 0) return 'a property name is empty';
      if (key.startsWith('$.') || key.startsWith('iothub-')) return `property ${JSON.stringify(key)} uses a name reserved for system properties`;
      if (typeof value !== 'string') return `property ${JSON.stringify(key)} must be a string`;
    }
    return undefined;
  }
}

function failure(status: number, code: C2dFailure['code'], reason: string): C2dFailure {
  return { ok: false, status, code, reason };
}

function sizeOf(input: C2dSendInput): number {
  let bytes = input.body.length;
  for (const [key, value] of Object.entries(input.properties ?? {})) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  for (const value of [input.messageId, input.correlationId, input.userId, input.contentType, input.contentEncoding]) if (value !== undefined) bytes += Buffer.byteLength(value);
  return bytes;
}
