import { SystemProperty, type HubMessage, type SystemPropertyName } from '../../message/index.js';
import { encodePropertyBag } from '../../transport/mqtt/iothub/index.js';

/**
 * System properties a device or module puts in its telemetry topic's property bag, in the keys
 * IoT Hub (and the parent's MQTT adapter) read back (notes 5.3): the same set the AMQP upstream
 * sends as message properties. The connection ids are not sent: the parent takes them from the
 * identity that connected.
 */
const TELEMETRY_SYSTEM_KEYS: ReadonlyArray<readonly [SystemPropertyName, string]> = [
  [SystemProperty.MessageId, '$.mid'],
  [SystemProperty.CorrelationId, '$.cid'],
  [SystemProperty.To, '$.to'],
  [SystemProperty.UserId, '$.uid'],
  [SystemProperty.ContentType, '$.ct'],
  [SystemProperty.ContentEncoding, '$.ce'],
  [SystemProperty.AbsoluteExpiryTime, '$.exp'],
  [SystemProperty.OutputName, '$.on'],
  [SystemProperty.MessageSchema, '$.schema'],
  [SystemProperty.CreationTime, '$.ctime'],
  [SystemProperty.Operation, 'iothub-operation'],
  [SystemProperty.InterfaceId, '$.ifid'],
  [SystemProperty.ComponentName, '$.sub'],
];

const RESERVED_KEYS: ReadonlySet<string> = new Set(TELEMETRY_SYSTEM_KEYS.map(([, key]) => key));

/** `devices/{d}/messages/events/` or `devices/{d}/modules/{m}/messages/events/`: IoT Hub's MQTT telemetry topics. */
export function eventsTopicPrefix(deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? `devices/${deviceId}/messages/events/` : `devices/${deviceId}/modules/${moduleId}/messages/events/`;
}

/**
 * The topic a routed message is published on as its source would to IoT Hub: the events prefix
 * and the property bag (application properties, then system properties), as the Azure SDKs write
 * it. An application property named like a system key is left out (the parent would read it as
 * that system property).
 */
export function telemetryTopic(deviceId: string, moduleId: string | undefined, message: HubMessage): string {
  const pairs: Array<readonly [string, string | null]> = [];
  for (const key of Object.keys(message.properties)) {
    if (!RESERVED_KEYS.has(key)) pairs.push([key, message.properties[key] ?? null]);
  }
  const system = message.systemProperties;
  for (const [name, key] of TELEMETRY_SYSTEM_KEYS) {
    if (Object.hasOwn(system, name)) pairs.push([key, system[name]!]);
  }
  return `${eventsTopicPrefix(deviceId, moduleId)}${encodePropertyBag(pairs)}`;
}
