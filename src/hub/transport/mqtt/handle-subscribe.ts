import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import { checkTopicFilter, parseSharedFilter, type Session, type Subscription } from '../../broker/index.js';
import type { ConnectionState } from './connection-state.js';
import { ProtocolLevel, QoSLevel } from './mqtt-protocol.js';
import { Violation } from './protocol-violation.js';
import { ReasonCode, SUBACK_FAILURE_V3 } from './reason-codes.js';

/** The retain-handling options of an MQTT 5 subscription (section 3.8.3.1). */
type RetainHandling = 0 | 1 | 2;

/**
 * SUBSCRIBE: IoT Hub filters go to the dialect (recorded on the session, never in the trie);
 * general filters are checked (syntax, shared-subscription rules, the authorization policy) and
 * subscribed after the SUBACK, so retained messages follow it (MQTT-3.8.4).
 */
export function handleSubscribe(conn: ConnectionState, session: Session, packet: ISubscribePacket): void {
  if (packet.subscriptions.length === 0) return conn.protocolError(Violation.EmptySubscribe, ReasonCode.ProtocolError);
  const subscriptionId = packet.properties?.subscriptionIdentifier;
  if (subscriptionId === 0) return conn.protocolError(Violation.SubscriptionIdentifierZero, ReasonCode.ProtocolError);
  const v5 = conn.protocolVersion === ProtocolLevel.V5;
  const { ctx } = conn;
  const granted: number[] = [];
  const accepted: Subscription[] = [];
  for (const request of packet.subscriptions) {
    const iotHub = conn.iotHub?.onSubscribe(session, request.topic) ?? 'general';
    if (iotHub !== 'general') {
      // IoT Hub grants at most QoS 1 (section 5.3).
      granted.push(iotHub === 'granted' ? Math.min(request.qos, QoSLevel.AtLeastOnce) : v5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE_V3);
      continue;
    }
    const shared = parseSharedFilter(request.topic);
    const inner = shared.ok && shared.shared !== undefined ? shared.shared.filter : request.topic;
    const check = shared.ok ? checkTopicFilter(inner) : shared;
    if (check.ok && ctx.authorizer !== undefined && !ctx.authorizer.canSubscribe(conn.identity!, conn.clientId, request.topic)) {
      granted.push(v5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE_V3);
      conn.log.info({ event: 'mqtt.subscribe_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', filter: request.topic }, 'subscription not allowed by the authorization policy');
      continue;
    }
    if (!check.ok || (shared.ok && shared.shared !== undefined && request.nl === true)) {
      // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error; we refuse the filter alone.
      granted.push(v5 ? ReasonCode.TopicFilterInvalid : SUBACK_FAILURE_V3);
      conn.log.info({ event: 'mqtt.subscribe_refused', filter: request.topic, reason: check.ok ? 'no local on a shared subscription' : check.reason }, 'subscription refused');
      continue;
    }
    accepted.push({
      clientId: conn.clientId,
      filter: request.topic,
      qos: request.qos,
      noLocal: request.nl === true,
      retainAsPublished: request.rap === true,
      retainHandling: (request.rh ?? 0) as RetainHandling,
      subscriptionId,
      shareGroup: shared.ok ? shared.shared?.group : undefined,
    });
    granted.push(request.qos);
  }
  conn.send({ cmd: 'suback', messageId: packet.messageId ?? 0, granted });
  // MQTT-3.8.4: retained messages follow the SUBACK.
  ctx.broker.subscribe(session, accepted);
}

/** UNSUBSCRIBE: IoT Hub filters to the dialect (their subscription removed from the session), general ones to the broker. */
export function handleUnsubscribe(conn: ConnectionState, session: Session, packet: IUnsubscribePacket): void {
  if (packet.unsubscriptions.length === 0) return conn.protocolError(Violation.EmptyUnsubscribe, ReasonCode.ProtocolError);
  const iotHub = packet.unsubscriptions.map((filter) => conn.iotHub?.onUnsubscribe(session, filter) ?? 'general');
  const general = packet.unsubscriptions.filter((_, i) => iotHub[i] === 'general');
  const found = general.length > 0 ? conn.ctx.broker.unsubscribe(session, general) : [];
  let next = 0;
  // mqtt-packet carries MQTT 5 UNSUBACK reason codes in `granted`, in the packet's order.
  const granted = iotHub.map((kind) => ((kind === 'general' ? found[next++] : kind === 'removed') ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted));
  conn.send({ cmd: 'unsuback', messageId: packet.messageId ?? 0, granted });
}
