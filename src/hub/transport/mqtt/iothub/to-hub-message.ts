/**
 * Turns a classified telemetry or module-output PUBLISH into the normalized HubMessage.
 *
 * - Bag keys in INBOUND_SYSTEM_KEYS become system properties; every other key is an application
 *   property (null stays null). A system key sent without a value (`$.ct` alone) is dropped: a
 *   system property is always a string.
 * - `connectionDeviceId` / `connectionModuleId` come from the authenticated identity, never from
 *   the topic (hub-message.ts invariant; EdgeHub copied them from the topic). Likewise the routing
 *   source: `/messages/` for a device, `/messages/modules/{m}/[outputs/{$.on}/]` for a module.
 * - The hub adds `edgeMessageId` (random UUID), `enqueuedTime` (ISO 8601 of `nowMs`),
 *   `edgeHubOriginInterface` (`internal` when the sender is this edge device or one of its
 *   modules, else `downstream`) and `modelId` from the CONNECT username.
 * - MQTT RETAIN is not retained: as IoT Hub does, the message gets application property
 *   `mqtt-retain` = `true` (unless the bag already set that key; EdgeHub lets the bag win).
 */
import { edgeMessageId, isoTime, SystemProperty, messageSource, type HubMessage } from '../../../message/index.js';
import type { TelemetryTopic } from './classify-publish-topic.js';
import type { ClientIdentity } from './iothub-types.js';
import { setOwn } from './set-own.js';
import { INBOUND_SYSTEM_KEYS } from './system-property-keys.js';

export const RETAIN_PROPERTY = 'mqtt-retain';
const RETAIN_VALUE = 'true';
export const ORIGIN_INTERNAL = 'internal';
export const ORIGIN_DOWNSTREAM = 'downstream';

export interface PublishContext {
  /** Device id of this edge device; decides `edgeHubOriginInterface`. */
  readonly edgeDeviceId: string;
  /** The RETAIN flag of the PUBLISH. */
  readonly retain?: boolean;
  /** `model-id` from the CONNECT username, if the client sent one. */
  readonly modelId?: string | undefined;
}

export function toHubMessage(
  identity: ClientIdentity,
  topic: TelemetryTopic,
  payload: Uint8Array,
  nowMs: number,
  context: PublishContext,
): HubMessage {
  const properties: Record<string, string | null> = {};
  const systemProperties: Record<string, string> = {};
  for (const [key, value] of topic.properties) {
    const name = INBOUND_SYSTEM_KEYS.get(key);
    if (name === undefined) setOwn(properties, key, value);
    else if (value !== null) systemProperties[name] = value;
  }
  if (context.retain === true && !Object.hasOwn(properties, RETAIN_PROPERTY)) properties[RETAIN_PROPERTY] = RETAIN_VALUE;

  systemProperties[SystemProperty.ConnectionDeviceId] = identity.deviceId;
  if (identity.moduleId !== undefined) systemProperties[SystemProperty.ConnectionModuleId] = identity.moduleId;
  if (context.modelId !== undefined) systemProperties[SystemProperty.ModelId] = context.modelId;
  systemProperties[SystemProperty.EdgeMessageId] = edgeMessageId();
  systemProperties[SystemProperty.EnqueuedTime] = isoTime(nowMs);
  systemProperties[SystemProperty.EdgeHubOriginInterface] =
    identity.deviceId === context.edgeDeviceId ? ORIGIN_INTERNAL : ORIGIN_DOWNSTREAM;

  return {
    source: messageSource(identity.moduleId, systemProperties[SystemProperty.OutputName]),
    body: payload,
    properties,
    systemProperties,
    enqueuedAtMs: nowMs,
  };
}
