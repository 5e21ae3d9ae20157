import type { C2dDeliveryTarget, C2dMessage } from '../../c2d/index.js';
import { c2dAddress } from '../../c2d/index.js';
import { SystemProperty, type HubMessage } from '../../message/index.js';
import { OutboundTopic } from './iothub/index.js';
import type { OutboundWriter } from './outbound-writer.js';

/**
 * C2D over MQTT to one device's connection: a QoS 1 PUBLISH on
 * `devices/{d}/messages/devicebound/{bag}` (application properties, then `$.exp`, `$.cid`,
 * `$.mid`, `$.to`, `$.uid`, `$.ct`, `$.ce`) through the connection's outbound writer, never the
 * broker session. The writer reports the PUBACK (`completed`) or that the connection closed first
 * (`lost`); a full window or a congested socket is `lost` too (the C2D queue tries again shortly).
 * The C2D queue, not MQTT, stores and resends. MQTT has no way for a device to reject or abandon
 * a message (the Azure SDK's MQTT transport refuses both).
 */
export function mqttC2dTarget(writer: OutboundWriter): C2dDeliveryTarget {
  return {
    deliver(message) {
      const topic = OutboundTopic.cloudToDevice(message.deviceId, asHubMessage(message));
      if (!topic.ok) return Promise.resolve('rejected');
      return new Promise((resolve) => {
        const sent = writer.sendCore(topic.topic, message.body, (outcome) => resolve(outcome === 'acked' ? 'completed' : outcome));
        if (!sent) resolve('lost');
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
