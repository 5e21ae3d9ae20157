import type { IPublishPacket, QoS } from 'mqtt-packet';

export type { QoS } from 'mqtt-packet';

/** MQTT 5 properties that travel with an application message from publisher to subscribers. */
export type ForwardedProperties = Omit<NonNullable<IPublishPacket['properties']>, 'topicAlias' | 'subscriptionIdentifier' | 'messageExpiryInterval'>;

/** An application message inside the broker, independent of any connection or packet id. */
export interface BrokerMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: ForwardedProperties | undefined;
  /** Epoch ms after which the message must not be delivered (MQTT 5 message expiry). */
  readonly expiresAtMs: number | undefined;
  /** Client id of the publisher, for No Local (MQTT 5 section 3.8.3.1). */
  readonly senderClientId: string;
}

export interface Subscription {
  readonly clientId: string;
  /** The filter as the client wrote it (including a `$share/group/` prefix). */
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId: number | undefined;
  readonly shareGroup: string | undefined;
}
