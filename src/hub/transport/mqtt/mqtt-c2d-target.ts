import type { Session } from '../../broker/index.js';
import type { C2dDeliveryTarget, C2dMessage } from '../../c2d/index.js';
import { c2dAddress } from '../../c2d/index.js';
import { SystemProperty, type HubMessage } from '../../message/index.js';
import { OutboundTopic } from './iothub/index.js';

/**
 * C2D over MQTT to one device's session: a QoS 1 PUBLISH on
 * `devices/{d}/messages/devicebound/{bag}` (application properties, then `$.exp`, `$.cid`,
 * `$.mid`, `$.to`, `$.uid`, `$.ct`, `$.ce`). The session reports the PUBACK (`completed`) or that
 * it let go of the message unacknowledged (`lost`: the connection closed); it never stores or
 * resends such a message itself, the C2D queue does. MQTT has no way for a device to reject or
 * abandon a message (the Azure SDK's MQTT transport refuses both).
 */
export function mqttC2dTarget(session: Session): C2dDeliveryTarget {
  return {
    deliver(message) {
      const topic = OutboundTopic.cloudToDevice(message.deviceId, asHubMessage(message));
      if (!topic.ok) return Promise.resolve('rejected');
      return new Promise((resolve) => {
        const published = { topic: topic.topic, payload: message.body, qos: 1, retain: false, properties: undefined, expiresAtMs: undefined, senderClientId: '' } as const;
        session.deliver({ message: published, qos: 1, retain: false, subscriptionIds: [], seq: 0, onSettled: (acked) => resolve(acked ? 'completed' : 'lost') });
      });
    },
  };
}

function asHubMessage(message: C2dMessage): HubMessage {
  const system: Record<string, string> = {
    [SystemProperty.MessageId]: message.messageId,
    [SystemProperty.To]: c2dAddress(message.deviceId),
    [SystemProperty.AbsoluteExpiryTime]: new Date(message.expiresAtMs).toISOString(),
  };
  if (message.correlationId !== undefined) system[SystemProperty.CorrelationId] = message.correlationId;
  if (message.userId !== undefined) system[SystemProperty.UserId] = message.userId;
  if (message.contentType !== undefined) system[SystemProperty.ContentType] = message.contentType;
  if (message.contentEncoding !== undefined) system[SystemProperty.ContentEncoding] = message.contentEncoding;
  return { source: '', body: message.body, properties: message.properties, systemProperties: system, enqueuedAtMs: message.enqueuedAtMs };
}
