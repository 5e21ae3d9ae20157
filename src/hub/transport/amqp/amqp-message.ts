/**
 * AMQP messages to and from the hub's HubMessage (notes 6.1, `AmqpMessageConverter`):
 *
 * Inbound (telemetry, module output): properties message-id → `messageId`, correlation-id → `cid`,
 * to, user-id, content-type, content-encoding, absolute-expiry-time; application properties
 * `iothub-outputname` → `outputName`, `iothub-message-schema`, `iothub-creation-time-utc`,
 * `iothub-operation` → their system properties, every other one an application property (its
 * value as text); annotations `iothub-interface-id` and `dt-subject`. The connection ids and the
 * routing source come from the authenticated identity of the link, never from the message, and
 * `$modelId` from the link's `com.microsoft:model-id` property.
 *
 * Outbound (module input, C2D): the same properties and application properties back, annotations
 * `iothub-connection-device-id`/`-module-id`, `iothub-enqueuedtime`, `x-opt-input-name`, and the
 * body as one Data section.
 */
import type { Message } from 'rhea';
import { edgeMessageId, isoTime, SystemProperty, messageSource, type HubMessage } from '../../message/index.js';
import { bodyBytes, hubMessageAmqp, idText, setOwn, SYSTEM_APP_PROPERTIES } from '../../amqp-common/index.js';

export { bodyBytes, idText };
import { Annotation } from './amqp-constants.js';

const ORIGIN_INTERNAL = 'internal';
const ORIGIN_DOWNSTREAM = 'downstream';

const SYSTEM_BY_APP_PROPERTY = new Map(SYSTEM_APP_PROPERTIES);

export interface Sender {
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  /** The events link's `com.microsoft:model-id` property (IoT Plug and Play): `$modelId` on its messages. */
  readonly modelId?: string | undefined;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function toHubMessage(sender: Sender, message: Message, nowMs: number, edgeDeviceId: string): HubMessage {
  const properties: Record<string, string | null> = {};
  const system: Record<string, string> = {};
  const messageId = idText(message.message_id);
  if (messageId !== undefined) system[SystemProperty.MessageId] = messageId;
  const correlationId = idText(message.correlation_id);
  if (correlationId !== undefined) system[SystemProperty.CorrelationId] = correlationId;
  if (typeof message.to === 'string') system[SystemProperty.To] = message.to;
  const userId = text(message.user_id);
  if (userId !== null) system[SystemProperty.UserId] = userId;
  if (typeof message.content_type === 'string') system[SystemProperty.ContentType] = message.content_type;
  if (typeof message.content_encoding === 'string') system[SystemProperty.ContentEncoding] = message.content_encoding;
  const expiry = message.absolute_expiry_time as unknown;
  if (expiry instanceof Date && !Number.isNaN(expiry.getTime())) system[SystemProperty.AbsoluteExpiryTime] = expiry.toISOString();

  const application = message.application_properties as Record<string, unknown> | undefined;
  if (application !== undefined && application !== null) {
    for (const key of Object.keys(application)) {
      const value = text(application[key]);
      const name = SYSTEM_BY_APP_PROPERTY.get(key);
      if (name === undefined) setOwn(properties, key, value);
      // A device has no outputs: the name would make a module source out of a device's telemetry.
      else if (value !== null && (name !== SystemProperty.OutputName || sender.moduleId !== undefined)) system[name] = value;
    }
  }
  const annotations = message.message_annotations as Record<string, unknown> | undefined;
  if (annotations !== undefined && annotations !== null) {
    const interfaceId = annotations[Annotation.InterfaceId];
    if (typeof interfaceId === 'string') system[SystemProperty.InterfaceId] = interfaceId;
    const component = annotations[Annotation.ComponentName];
    if (typeof component === 'string') system[SystemProperty.ComponentName] = component;
  }
  system[SystemProperty.ConnectionDeviceId] = sender.deviceId;
  if (sender.moduleId !== undefined) system[SystemProperty.ConnectionModuleId] = sender.moduleId;
  if (sender.modelId !== undefined) system[SystemProperty.ModelId] = sender.modelId;
  system[SystemProperty.EdgeMessageId] = edgeMessageId();
  system[SystemProperty.EnqueuedTime] = isoTime(nowMs);
  system[SystemProperty.EdgeHubOriginInterface] = sender.deviceId === edgeDeviceId ? ORIGIN_INTERNAL : ORIGIN_DOWNSTREAM;
  return {
    source: messageSource(sender.moduleId, system[SystemProperty.OutputName]),
    body: bodyBytes(message.body),
    properties,
    systemProperties: system,
    enqueuedAtMs: nowMs,
  };
}

/** A routed message as a module input receives it, on `/devices/{d}/modules/{m}/messages/events`. */
export function moduleInputMessage(inputName: string, message: HubMessage): Message {
  const out = outbound(message);
  (out.message_annotations as Record<string, unknown>)[Annotation.InputName] = inputName;
  return out;
}

/** Properties, application properties and annotations common to every message sent to a client. */
export function outbound(message: HubMessage): Message {
  const system = message.systemProperties;
  const get = (name: string): string | undefined => (Object.hasOwn(system, name) ? system[name] : undefined);
  const out = hubMessageAmqp(message, { outputName: false });
  const annotations: Record<string, unknown> = { [Annotation.EnqueuedTime]: new Date(message.enqueuedAtMs) };
  const deviceId = get(SystemProperty.ConnectionDeviceId);
  if (deviceId !== undefined) annotations[Annotation.ConnectionDeviceId] = deviceId;
  const moduleId = get(SystemProperty.ConnectionModuleId);
  if (moduleId !== undefined) annotations[Annotation.ConnectionModuleId] = moduleId;
  const component = get(SystemProperty.ComponentName);
  if (component !== undefined) annotations[Annotation.ComponentName] = component;
  out.message_annotations = annotations;
  return out;
}
