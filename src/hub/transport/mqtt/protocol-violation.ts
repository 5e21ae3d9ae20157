import type { ErrorCode } from '../../../errors/index.js';

/**
 * Why a connection is closed for breaking the protocol. Each is a fixed string: the key of the
 * protocol-error counters and of the rate-limited `mqtt.protocol_error` line, so the set of keys is
 * bounded whatever clients send (the detail, which may name what they sent, is logged beside it).
 */
export const Violation = {
  ConnectTimeout: 'connect timeout',
  PacketTooLarge: 'packet exceeds the maximum size',
  MalformedLength: 'malformed remaining length',
  MalformedPacket: 'malformed packet',
  UnsupportedProtocolLevel: 'unsupported protocol level',
  FirstPacketNotConnect: 'first packet must be CONNECT', // MQTT-3.1.0-1
  SecondConnect: 'second CONNECT', // MQTT-3.1.0-2
  InvalidPacketId: 'packet without a valid packet identifier', // MQTT-2.2.1-3
  UnexpectedPacket: 'unexpected packet from a client',
  WillTopicInvalid: 'will topic invalid',
  PublishTopicInvalid: 'publish topic invalid',
  TopicAliasOutOfRange: 'topic alias out of range',
  TopicAliasUnknown: 'unknown topic alias',
  ReceiveMaximumExceeded: 'receive maximum exceeded',
  IotHubQoS2: 'QoS 2 on an IoT Hub topic',
  IotHubPublishRefused: 'refused IoT Hub publish',
  EmptySubscribe: 'SUBSCRIBE without topic filters', // MQTT-3.8.3-3
  SubscriptionIdentifierZero: 'subscription identifier 0',
  EmptyUnsubscribe: 'UNSUBSCRIBE without topic filters', // MQTT-3.10.3-2
  SessionExpiryFromZero: 'session expiry changed from 0 at DISCONNECT', // MQTT-3.14.2-2
  KeepAliveTimeout: 'keep-alive timeout', // MQTT-3.1.2-24
} as const;

export type Violation = (typeof Violation)[keyof typeof Violation];

/** The registered error code a violation is logged with. */
export function violationCode(violation: Violation): ErrorCode {
  return violation === Violation.ConnectTimeout ? 'OUTPOST_LISTENER_CONNECT_TIMEOUT' : 'OUTPOST_MQTT_PROTOCOL_ERROR';
}
