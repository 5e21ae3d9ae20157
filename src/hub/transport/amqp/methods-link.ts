/**
 * Direct methods over AMQP (`/devices/{d}[/modules/{m}]/methods/devicebound`, notes 6.1): the hub
 * sends requests on the client's receiving link (AmqpClientLink.sendMethodRequest) and reads the
 * answers on the client's sending link: correlation-id = the request id (the SDK re-encodes it as
 * an AMQP uuid when it looks like one, so both forms are read), `IoThub-status` = the method's
 * status, the body its JSON payload. What a method call means is the MethodService's.
 */
import type { EventContext, Receiver } from 'rhea';
import type { Logger } from '../../../log/index.js';
import type { MethodService } from '../../methods/index.js';
import { AppProperty } from './amqp-constants.js';
import type { AmqpClientLink } from './amqp-client-link.js';
import { bodyBytes, idText } from './amqp-message.js';

export function serveMethodResponses(methods: MethodService, identity: AmqpClientLink, receiver: Receiver, credit: number, logger: () => Logger): void {
  receiver.on('message', (context: EventContext) => {
    const { message, delivery } = context;
    if (message === undefined || delivery === undefined) return;
    if (delivery.remote_settled !== true) delivery.accept();
    if (receiver.is_open()) receiver.add_credit(1);
    const requestId = idText(message.correlation_id);
    const properties = (message.application_properties ?? {}) as Record<string, unknown>;
    const status = Number(properties[AppProperty.MethodStatus]);
    if (requestId === undefined || !Number.isInteger(status)) {
      logger().info({ event: 'iothub.method_response_invalid', identity: identity.identity }, 'a method response without a correlation-id or an integer IoThub-status');
      return;
    }
    if (!methods.respond(identity.identity, requestId, status, bodyBytes(message.body))) {
      logger().info({ event: 'iothub.method_response_unmatched', requestId, status }, 'method response without a pending call');
    }
  });
  receiver.add_credit(credit);
}
