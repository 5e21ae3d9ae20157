import rhea, { type Message } from 'rhea';
import { SystemProperty, type HubMessage } from '../message/index.js';
import { Annotation, AppProperty } from './upstream-constants.js';

/** Application properties that carry system properties, as a device sends them. */
const SYSTEM_APP_PROPERTIES: ReadonlyArray<readonly [string, string]> = [
  [AppProperty.OutputName, SystemProperty.OutputName],
  [AppProperty.MessageSchema, SystemProperty.MessageSchema],
  [AppProperty.CreationTimeUtc, SystemProperty.CreationTime],
  [AppProperty.Operation, SystemProperty.Operation],
];

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A routed message as its source device or module would send it to IoT Hub over AMQP: the
 * properties, application properties and annotations the parent's AMQP adapter reads back into
 * the same system properties (docs/amqp.md, "Telemetry and module output"). The connection ids
 * are not sent: the parent takes them from the identity the link authenticated as.
 */
export function upstreamMessage(message: HubMessage): Message {
  const system = message.systemProperties;
  const get = (name: string): string | undefined => (Object.hasOwn(system, name) ? system[name] : undefined);
  const application: Record<string, unknown> = {};
  for (const key of Object.keys(message.properties)) setOwn(application, key, message.properties[key]);
  for (const [wire, name] of SYSTEM_APP_PROPERTIES) {
    const value = get(name);
    if (value !== undefined) setOwn(application, wire, value);
  }
  const annotations: Record<string, unknown> = {};
  const interfaceId = get(SystemProperty.InterfaceId);
  if (interfaceId !== undefined) annotations[Annotation.InterfaceId] = interfaceId;
  const component = get(SystemProperty.ComponentName);
  if (component !== undefined) annotations[Annotation.ComponentName] = component;
  const out: Message = {
    application_properties: application,
    body: rhea.message.data_section(Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength)),
  };
  if (Object.keys(annotations).length > 0) out.message_annotations = annotations;
  const messageId = get(SystemProperty.MessageId);
  if (messageId !== undefined) out.message_id = messageId;
  const correlationId = get(SystemProperty.CorrelationId);
  if (correlationId !== undefined) out.correlation_id = correlationId;
  const to = get(SystemProperty.To);
  if (to !== undefined) out.to = to;
  const userId = get(SystemProperty.UserId);
  if (userId !== undefined) out.user_id = userId;
  const contentType = get(SystemProperty.ContentType);
  if (contentType !== undefined) out.content_type = contentType;
  const contentEncoding = get(SystemProperty.ContentEncoding);
  if (contentEncoding !== undefined) out.content_encoding = contentEncoding;
  const expiry = get(SystemProperty.AbsoluteExpiryTime);
  if (expiry !== undefined && !Number.isNaN(Date.parse(expiry))) out.absolute_expiry_time = new Date(expiry);
  return out;
}
