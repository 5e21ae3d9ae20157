import type { Session } from '../../broker/index.js';
import type { ConnectionState } from './connection-state.js';
import { OutboundWriter } from './outbound-writer.js';
import { ReasonCode } from './reason-codes.js';

/**
 * PUBACK (QoS 1) or PUBCOMP (QoS 2) of a PUBLISH the hub sent: a hub-core delivery's (module
 * input, C2D: QoS 1 only, packet ids of their own range) settles with its owner; any other
 * completes the session's in-flight message.
 */
export function handlePuback(conn: ConnectionState, session: Session, cmd: 'puback' | 'pubcomp', packetId: number): void {
  const known = cmd === 'puback' && OutboundWriter.isCorePacketId(packetId) ? conn.writer.completeCore(packetId) : session.complete(packetId);
  if (!known) conn.log.debug({ event: 'mqtt.unknown_ack', clientId: conn.clientId, packetId }, 'ack for an unknown packet id');
}

/** PUBREC of a QoS 2 PUBLISH the hub sent: the session answers PUBREL. */
export function handlePubrec(session: Session, packetId: number): void {
  session.received(packetId);
}

/** PUBREL of a QoS 2 PUBLISH the client sent: delivered already (at PUBLISH); PUBCOMP ends it. */
export function handlePubrel(conn: ConnectionState, session: Session, packetId: number): void {
  session.inboundQos2?.delete(packetId);
  conn.send({ cmd: 'pubcomp', messageId: packetId, reasonCode: ReasonCode.Success });
}
