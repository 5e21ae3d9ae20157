import type { IPublishPacket, Packet } from 'mqtt-packet';
import { errorSpec, toOutpostError } from '../../../errors/index.js';
import { checkTopicName, type BrokerMessage, type QoS, type Session } from '../../broker/index.js';
import type { AckGroup, ConnectionState } from './connection-state.js';
import { ProtocolLevel, QoSLevel } from './mqtt-protocol.js';
import { Violation } from './protocol-violation.js';
import { ReasonCode } from './reason-codes.js';

/**
 * PUBLISH from a client, the hot path: topic alias, topic check, QoS 2 duplicate, then either the
 * IoT Hub dialect (telemetry to the store, twin and method traffic to the core services) or the
 * general broker; acknowledged once what it made durable is written, in PUBLISH order.
 */
export function handlePublish(conn: ConnectionState, session: Session, packet: IPublishPacket): void {
  let topic = packet.topic;
  const alias = packet.properties?.topicAlias;
  if (alias !== undefined) {
    if (alias === 0 || alias > conn.ctx.limits.topicAliasMaximum) return conn.protocolError(Violation.TopicAliasOutOfRange, ReasonCode.TopicAliasInvalid, String(alias));
    if (topic === '') {
      const known = conn.inboundAliases?.get(alias);
      if (known === undefined) return conn.protocolError(Violation.TopicAliasUnknown, ReasonCode.ProtocolError, String(alias));
      topic = known;
    } else (conn.inboundAliases ??= new Map()).set(alias, topic);
  }
  const check = checkTopicName(topic);
  if (!check.ok) return conn.protocolError(Violation.PublishTopicInvalid, ReasonCode.TopicNameInvalid, check.reason);
  const packetId = packet.messageId ?? 0;
  const qos = packet.qos;
  if (qos === QoSLevel.ExactlyOnce && session.inboundQos2?.has(packetId) === true) {
    // A retransmitted QoS 2 PUBLISH: acknowledge again, deliver once (MQTT-4.3.3-10).
    conn.send({ cmd: 'pubrec', messageId: packetId, reasonCode: ReasonCode.Success });
    return;
  }
  const v5 = conn.protocolVersion === ProtocolLevel.V5;
  if (qos > QoSLevel.AtMostOnce && v5 && (session.inboundQos2?.size ?? 0) >= conn.ctx.limits.receiveMaximum) {
    return conn.protocolError(Violation.ReceiveMaximumExceeded, ReasonCode.ReceiveMaximumExceeded);
  }
  const iotHub = conn.iotHub;
  if (iotHub !== undefined) {
    const outcome = iotHub.onPublish(topic, packet, toBuffer(packet.payload));
    if (outcome.kind !== 'general') {
      // IoT Hub takes QoS 0 and 1 only: it closes the connection on QoS 2 (section 5.3).
      if (qos === QoSLevel.ExactlyOnce) return conn.protocolError(Violation.IotHubQoS2, ReasonCode.QoSNotSupported);
      if (outcome.kind === 'refused') {
        conn.log.info({ event: 'iothub.publish_refused', code: outcome.notAuthorized ? 'OUTPOST_AUTH_NOT_AUTHORIZED' : 'OUTPOST_MQTT_BAD_TOPIC', topic, reason: outcome.reason }, 'publish refused');
        if (!v5) return conn.protocolError(Violation.IotHubPublishRefused, undefined, outcome.reason);
        if (qos === QoSLevel.AtLeastOnce) conn.send({ cmd: 'puback', messageId: packetId, reasonCode: outcome.notAuthorized ? ReasonCode.NotAuthorized : ReasonCode.TopicNameInvalid });
        return;
      }
      if (qos === QoSLevel.AtLeastOnce) acknowledge(conn, { cmd: 'puback', messageId: packetId, reasonCode: ReasonCode.Success }, outcome.accepted);
      else outcome.accepted.catch(() => undefined);
      return;
    }
  }
  const ctx = conn.ctx;
  if (ctx.authorizer !== undefined && !ctx.authorizer.canPublish(conn.identity!, conn.clientId, topic)) {
    ctx.refusals.warn(`publish:${conn.clientId}`, { event: 'mqtt.publish_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', clientId: conn.clientId, topic }, 'publish not allowed by the authorization policy');
    if (qos === QoSLevel.AtMostOnce) return;
    // MQTT 5 says why; a 3.1.1 client cannot be told, so its message is acknowledged and dropped.
    const reasonCode = v5 ? ReasonCode.NotAuthorized : ReasonCode.Success;
    if (qos === QoSLevel.ExactlyOnce) (session.inboundQos2 ??= new Set()).add(packetId);
    conn.send({ cmd: qos === QoSLevel.AtLeastOnce ? 'puback' : 'pubrec', messageId: packetId, reasonCode });
    return;
  }
  ctx.broker.publish(toBrokerMessage(topic, toBuffer(packet.payload), qos, packet.retain, packet.properties, conn.clientId));
  if (qos === QoSLevel.AtMostOnce) return;
  if (qos === QoSLevel.ExactlyOnce) (session.inboundQos2 ??= new Set()).add(packetId);
  // Acknowledge only once what the publish made durable (retained, queued for an offline
  // persistent session) is in the write-ahead log.
  // Reason code 0 lets mqtt-packet use the 2-byte MQTT 5 form (MQTT-3.4.2-1), which some clients
  // (Debian's paho 1.6) require for PUBREL and which every client accepts.
  acknowledge(conn, { cmd: qos === QoSLevel.AtLeastOnce ? 'puback' : 'pubrec', messageId: packetId, reasonCode: ReasonCode.Success }, ctx.broker.durability());
}

/**
 * Sends an acknowledgement after `wait`, keeping acknowledgements in PUBLISH order (MQTT-4.6.0-2).
 * Consecutive acknowledgements waiting for the same promise (one store batch holds many
 * messages) form one group with one handler, so a burst costs no promise per message.
 */
function acknowledge(conn: ConnectionState, ack: Packet, wait: Promise<void> | undefined): void {
  const groups = conn.ackGroups;
  if (groups.length === 0 && wait === undefined) {
    conn.send(ack);
    return;
  }
  const last = groups[groups.length - 1];
  if (last !== undefined && last.wait === wait && wait !== undefined) {
    last.acks.push(ack);
    return;
  }
  const group: AckGroup = { wait, acks: [ack], settled: wait === undefined, error: undefined };
  groups.push(group);
  if (wait !== undefined) {
    wait.then(
      () => {
        group.settled = true;
        sendSettledAcks(conn);
      },
      (error: unknown) => {
        group.settled = true;
        group.error = error ?? new Error('not accepted');
        sendSettledAcks(conn);
      },
    );
  }
}

/** Sends the acknowledgements of settled groups at the head of the line, in order. */
function sendSettledAcks(conn: ConnectionState): void {
  const groups = conn.ackGroups;
  let done = 0;
  while (done < groups.length && groups[done]!.settled) {
    const group = groups[done++]!;
    for (const ack of group.acks) {
      if (group.error === undefined) conn.send(ack);
      else notAccepted(conn, ack, group.error);
    }
  }
  if (done > 0) groups.splice(0, done);
}

/**
 * The hub did not take a message (store full, disk full): an MQTT 5 PUBACK says why; 3.1.1 has
 * no negative PUBACK and acknowledgements may not be skipped (MQTT-4.6.0-2), so the connection
 * closes and the client sends the message again after reconnecting.
 */
function notAccepted(conn: ConnectionState, ack: Packet, error: unknown): void {
  const failure = toOutpostError(error);
  const reasonCode = errorSpec(failure.code).mqttReason ?? ReasonCode.UnspecifiedError;
  conn.ctx.refusals.warn(`not-accepted:${failure.code}`, { event: 'mqtt.publish_not_accepted', code: failure.code, clientId: conn.clientId, reasonCode }, failure.message);
  if (conn.protocolVersion === ProtocolLevel.V5 && ack.cmd === 'puback') conn.send({ ...ack, reasonCode });
  else conn.disconnectWith(reasonCode, false);
}

/** A client's PUBLISH (or will) as the broker carries it: MQTT 5 properties forwarded, alias and subscription ids dropped, expiry made absolute. */
export function toBrokerMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, properties: IPublishPacket['properties'], senderClientId: string): BrokerMessage {
  let forwarded: BrokerMessage['properties'];
  let expiresAtMs: number | undefined;
  if (properties !== undefined) {
    const { topicAlias: _alias, subscriptionIdentifier: _ids, messageExpiryInterval, ...rest } = properties as NonNullable<IPublishPacket['properties']> & { willDelayInterval?: number };
    delete (rest as { willDelayInterval?: number }).willDelayInterval;
    if (messageExpiryInterval !== undefined) expiresAtMs = Date.now() + messageExpiryInterval * 1000;
    forwarded = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return { topic, payload, qos, retain, properties: forwarded, expiresAtMs, senderClientId };
}

export function toBuffer(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}
