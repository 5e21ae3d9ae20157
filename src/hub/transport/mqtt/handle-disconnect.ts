import type { IDisconnectPacket } from 'mqtt-packet';
import type { Session } from '../../broker/index.js';
import type { ConnectionState, Will } from './connection-state.js';
import { Violation } from './protocol-violation.js';
import { ReasonCode } from './reason-codes.js';

/** DISCONNECT from the client: MQTT 5 may change the session expiry (never from 0) and ask for the will. */
export function handleDisconnect(conn: ConnectionState, session: Session, packet: IDisconnectPacket): void {
  const reason = packet.reasonCode ?? ReasonCode.NormalDisconnection;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined && session.expiryIntervalSec === 0 && expiry > 0) return conn.protocolError(Violation.SessionExpiryFromZero, ReasonCode.ProtocolError);
  if (expiry !== undefined) session.expiryIntervalSec = Math.min(expiry, conn.ctx.limits.maxSessionExpirySec);
  // MQTT-3.14.4-3: a normal DISCONNECT discards the will; 0x04 asks for it.
  const withWill = reason === ReasonCode.DisconnectWithWill;
  if (!withWill) conn.will = undefined;
  conn.close('client-disconnect', withWill);
}

/**
 * Publishes the will now, or after its delay (bounded by the session's expiry, MQTT 5 section
 * 3.1.3.2.2); a reconnect of the same client id cancels a delayed one.
 */
export function publishWill(conn: ConnectionState, will: Will): void {
  const { ctx } = conn;
  const delaySec = Math.min(will.delaySec, conn.session?.expiryIntervalSec ?? 0);
  if (delaySec <= 0) {
    ctx.broker.publish(will.message);
    return;
  }
  const clientId = conn.clientId;
  const timer = setTimeout(() => {
    ctx.pendingWills.delete(clientId);
    ctx.broker.publish(will.message);
  }, delaySec * 1000);
  timer.unref();
  ctx.pendingWills.set(clientId, timer);
}
