/**
 * What a hub message looks like as an AMQP message in IoT Hub's device protocol, shared by the
 * AMQP adapter (module inputs and C2D to clients, telemetry from them) and the upstream link
 * (telemetry to a parent): the properties section, the application properties that carry system
 * properties, and the body as one Data section. Annotations differ by direction and stay with the
 * callers.
 */
import rhea, { type Message } from 'rhea';
import { SystemProperty, type HubMessage } from '../message/index.js';

/** Application properties with a system meaning (notes 6.1, `AmqpMessageConverter`). */
export const SystemAppProperty = {
  OutputName: 'iothub-outputname',
  MessageSchema: 'iothub-message-schema',
  CreationTimeUtc: 'iothub-creation-time-utc',
  Operation: 'iothub-operation',
} as const;

/** Message annotations a device may set on telemetry (IoT Plug and Play). */
export const TelemetryAnnotation = {
  InterfaceId: 'iothub-interface-id',
  ComponentName: 'dt-subject',
} as const;

/** Application properties that carry system properties, both ways: wire name → system property. */
export const SYSTEM_APP_PROPERTIES: ReadonlyArray<readonly [string, string]> = [
  [SystemAppProperty.OutputName, SystemProperty.OutputName],
  [SystemAppProperty.MessageSchema, SystemProperty.MessageSchema],
  [SystemAppProperty.CreationTimeUtc, SystemProperty.CreationTime],
  [SystemAppProperty.Operation, SystemProperty.Operation],
];

/** defineProperty, not assignment: a key named "__proto__" stays plain data. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export interface HubMessageAmqpOptions {
  /** Whether `iothub-outputname` is sent (to a parent: yes; to a module input: no, it names an output). */
  readonly outputName: boolean;
}

/**
 * The AMQP message of a hub message, without annotations: message-id, correlation-id, to,
 * user-id, content-type, content-encoding, absolute-expiry-time; its application properties, then
 * the system ones that travel as application properties; the body as one Data section.
 */
export function hubMessageAmqp(message: HubMessage, options: HubMessageAmqpOptions): Message {
  const system = message.systemProperties;
  const get = (name: string): string | undefined => (Object.hasOwn(system, name) ? system[name] : undefined);
  const application: Record<string, unknown> = {};
  for (const key of Object.keys(message.properties)) setOwn(application, key, message.properties[key]);
  for (const [wire, name] of SYSTEM_APP_PROPERTIES) {
    if (!options.outputName && name === SystemProperty.OutputName) continue;
    const value = get(name);
    if (value !== undefined) setOwn(application, wire, value);
  }
  const out: Message = {
    application_properties: application,
    body: rhea.message.data_section(Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength)),
  };
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
