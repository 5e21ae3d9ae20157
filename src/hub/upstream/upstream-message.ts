import type { Message } from 'rhea';
import { hubMessageAmqp, TelemetryAnnotation } from '../amqp-common/index.js';
import { SystemProperty, type HubMessage } from '../message/index.js';

/**
 * The reference form of the upstream telemetry (rhea's Message): the link writes the same bytes
 * with `encodeUpstreamMessage` (src/hub/transport/amqp/module-input-encoder.ts), checked against
 * `rhea.message.encode(upstreamMessage(…))` in test/amqp/amqp-module-input-encoder.test.ts.
 *
 * A routed message as its source device or module would send it to IoT Hub over AMQP: the
 * properties, application properties and annotations the parent's AMQP adapter reads back into
 * the same system properties (docs/amqp.md, "Telemetry and module output"). The connection ids
 * are not sent: the parent takes them from the identity the link authenticated as.
 */
export function upstreamMessage(message: HubMessage): Message {
  const out = hubMessageAmqp(message, { outputName: true });
  const system = message.systemProperties;
  const annotations: Record<string, unknown> = {};
  if (Object.hasOwn(system, SystemProperty.InterfaceId)) annotations[TelemetryAnnotation.InterfaceId] = system[SystemProperty.InterfaceId];
  if (Object.hasOwn(system, SystemProperty.ComponentName)) annotations[TelemetryAnnotation.ComponentName] = system[SystemProperty.ComponentName];
  if (Object.keys(annotations).length > 0) out.message_annotations = annotations;
  return out;
}
