/**
 * One identity (device or module) authenticated on one AMQP connection, as the hub core sees it
 * (ClientLink). A connection carries many: each proved itself on its own (CBS put-token, SASL
 * PLAIN, or the TLS client certificate) and is registered in ConnectedClients under its own name.
 *
 * Its links are the ones whose address names it. Subscriptions are the hub's sending links the
 * client attached: methods (`…/methods/devicebound`), module inputs (`…/modules/{m}/messages/events`
 * as a receiver), C2D, and the twin link (responses, and desired patches after a PUT).
 */
import rhea, { type Delivery, type EventContext, type link as Link, type Sender } from 'rhea';
import type { ClientIdentity } from '../../auth/index.js';
import type { ClientLink, ClientSubscriptionKind, MethodRequest } from '../../core/index.js';
import type { DeliveryOutcome } from '../../endpoints/index.js';
import type { HubMessage } from '../../message/index.js';
import { AppProperty } from './amqp-constants.js';
import { identityName } from './link-address.js';
import { encodeModuleInput } from './module-input-encoder.js';

/** message-format of a transfer holding a plain AMQP message (AMQP 1.0 section 2.7.5). */
const MESSAGE_FORMAT = 0;

export class AmqpClientLink implements ClientLink {
  readonly protocol = 'amqp';
  readonly identity: string;
  /** Every link whose address names this identity; closed together when its token expires. */
  readonly links = new Set<Link>();
  methodSender: Sender | undefined;
  moduleInputSender: Sender | undefined;
  twinSender: Sender | undefined;
  c2dSender: Sender | undefined;
  desiredSubscribed = false;
  expiresAtMs = Number.POSITIVE_INFINITY;
  expiryTimer: NodeJS.Timeout | undefined;
  /** Removes the registration from ConnectedClients. */
  unregister: (() => void) | undefined;
  /** Module-input deliveries awaiting the module's disposition. */
  private readonly pendingInputs = new Map<Delivery, (outcome: DeliveryOutcome) => void>();
  /**
   * Module inputs handed over while the link had no credit, sent in order as credit comes back
   * ('sendable'). Refusing them instead made the store take the module for unavailable and back
   * off (store.retryInterval, doubling) each time a module's credit ran out, which it does
   * whenever it grants less than store.deliveryWindow. The store's window bounds this queue.
   */
  private waitingInputs: Array<{ readonly message: Buffer; readonly onSettled: (outcome: DeliveryOutcome) => void }> = [];

  constructor(
    readonly deviceId: string,
    readonly moduleId: string | undefined,
    readonly authIdentity: ClientIdentity,
  ) {
    this.identity = identityName(deviceId, moduleId);
  }

  subscribed(kind: ClientSubscriptionKind): boolean {
    switch (kind) {
      case 'methods':
        return isUsable(this.methodSender);
      case 'module-inputs':
        return isUsable(this.moduleInputSender);
      case 'c2d':
        return isUsable(this.c2dSender);
      case 'twin-responses':
        return isUsable(this.twinSender);
      case 'desired-properties':
        return this.desiredSubscribed && isUsable(this.twinSender);
    }
  }

  sendMethodRequest(request: MethodRequest): boolean {
    const sender = this.methodSender;
    if (sender === undefined || !isUsable(sender) || !sender.sendable()) return false;
    sender.send({
      correlation_id: request.requestId,
      application_properties: { [AppProperty.MethodName]: request.methodName },
      body: rhea.message.data_section(request.payload),
    });
    return true;
  }

  sendModuleInput(inputName: string, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean {
    const sender = this.moduleInputSender;
    if (sender === undefined || !isUsable(sender)) return false;
    // Encoded here, not by rhea: same bytes, a fraction of the cost (module-input-encoder.ts).
    const out = encodeModuleInput(inputName, message);
    if (this.waitingInputs.length > 0 || !sender.sendable()) this.waitingInputs.push({ message: out, onSettled });
    else this.transmit(sender, out, onSettled);
    return true;
  }

  private transmit(sender: Sender, message: Buffer, onSettled: (outcome: DeliveryOutcome) => void): void {
    // With a message-format rhea sends the bytes as they are.
    const delivery = sender.send(message, undefined, MESSAGE_FORMAT);
    // A receiver that settles on receipt (rcv-settle-mode first, or presettled) has taken it.
    if (delivery.settled === true && delivery.remote_settled !== false) onSettled('acked');
    else this.pendingInputs.set(delivery, onSettled);
  }

  /** Credit came back: what waited for it goes, in order, as far as the credit reaches. */
  private sendWaiting(sender: Sender): void {
    let sent = 0;
    const waiting = this.waitingInputs;
    while (sent < waiting.length && isUsable(sender) && sender.sendable()) {
      const next = waiting[sent++]!;
      this.transmit(sender, next.message, next.onSettled);
    }
    if (sent > 0) this.waitingInputs = waiting.slice(sent);
  }

  /** Wires the module-input sender's dispositions to the deliveries' outcomes. */
  watchModuleInputs(sender: Sender): void {
    const settle = (context: EventContext, outcome: DeliveryOutcome) => {
      const delivery = context.delivery;
      if (delivery === undefined) return;
      const onSettled = this.pendingInputs.get(delivery);
      if (onSettled === undefined) return;
      this.pendingInputs.delete(delivery);
      onSettled(outcome);
    };
    sender.on('accepted', (context: EventContext) => settle(context, 'acked'));
    sender.on('rejected', (context: EventContext) => settle(context, 'rejected'));
    // rhea reports `modified` as `released` (treat_modified_as_released): both mean "not taken".
    sender.on('released', (context: EventContext) => settle(context, 'lost'));
    sender.on('settled', (context: EventContext) => settle(context, 'lost'));
    sender.on('sendable', () => this.sendWaiting(sender));
  }

  /** The module-input link (or the connection) closed: what it had in flight is lost, to be sent again. */
  loseModuleInputs(): void {
    const pending = [...this.pendingInputs.values(), ...this.waitingInputs.map((w) => w.onSettled)];
    this.pendingInputs.clear();
    this.waitingInputs = [];
    for (const onSettled of pending) onSettled('lost');
  }
}

function isUsable(link: Link | undefined): link is Link {
  return link !== undefined && link.is_open() && !link.is_closed();
}
