import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { clientIdRefusal, type AuthResult, type ClientIdentity } from '../../auth/index.js';
import { checkTopicName, type Session } from '../../broker/index.js';
import { toBrokerMessage, toBuffer } from './handle-publish.js';
import { negotiateKeepAlive } from './keep-alive.js';
import { MqttClientLink } from './mqtt-client-link.js';
import { MqttCredentials } from './mqtt-credentials.js';
import type { ConnectionState } from './connection-state.js';
import { ProtocolLevel, QoSLevel } from './mqtt-protocol.js';
import { OutboundTopicAliases } from './outbound-topic-aliases.js';
import { Violation } from './protocol-violation.js';
import { ConnackReturnCode, ReasonCode } from './reason-codes.js';

/**
 * CONNECT: client id, authentication (possibly asynchronous: the socket pauses and pipelined
 * packets wait), the checks that may refuse it, then CONNACK, the session and the hub-core link.
 */
export function handleConnect(conn: ConnectionState, packet: IConnectPacket): void {
  conn.protocolVersion = (packet.protocolVersion ?? ProtocolLevel.V311) as 3 | 4 | 5;
  // Before anything is sent: a refusing CONNACK is encoded for the client's version too.
  conn.writer.protocolVersion = conn.protocolVersion;
  const v5 = conn.protocolVersion === ProtocolLevel.V5;
  const clean = packet.clean !== false;
  let clientId = packet.clientId;
  let assigned: string | undefined;
  if (clientId === '') {
    if (!v5 && !clean) return refuse(conn, ConnackReturnCode.IdentifierRejected, ReasonCode.ClientIdentifierNotValid, 'empty client id with a persistent session'); // MQTT-3.1.3-8
    clientId = assigned = `outpost-${randomUUID()}`;
  }
  if (conn.ctx.stopping) return refuse(conn, ConnackReturnCode.ServerUnavailable, ReasonCode.ServerShuttingDown, 'shutting down');
  const info = conn.info;
  const auth = conn.ctx.authenticator.authenticate(new MqttCredentials({
    listener: info.listener,
    secure: info.secure,
    remoteAddress: info.remoteAddress,
    clientId,
    username: packet.username,
    password: packet.password,
    peerCertificate: info.secure ? (conn.stream as TLSSocket).getPeerCertificate?.(true) : undefined,
  }));
  if (!(auth instanceof Promise)) return completeConnect(conn, packet, clientId, assigned, auth);
  // An asynchronous check (a registry lookup): packets pipelined behind CONNECT wait in the
  // framer, and the socket stops reading, until it is done.
  conn.authenticating = true;
  conn.stream.pause();
  auth.then(
    (result) => completeConnect(conn, packet, clientId, assigned, result),
    (error: unknown) => {
      conn.log.error({ event: 'mqtt.auth_error', code: 'OUTPOST_INTERNAL', err: error }, 'authentication failed unexpectedly');
      refuse(conn, ConnackReturnCode.ServerUnavailable, ReasonCode.UnspecifiedError, 'authentication unavailable');
    },
  ).finally(() => {
    conn.authenticating = false;
    if (conn.closed) return;
    conn.stream.resume();
    conn.processFrames();
  });
}

function completeConnect(conn: ConnectionState, packet: IConnectPacket, clientId: string, assigned: string | undefined, auth: AuthResult): void {
  if (conn.closed) return;
  if (!auth.ok) return refuseCredentials(conn, clientId, auth);
  const { ctx } = conn;
  const limits = ctx.limits;
  const v5 = conn.protocolVersion === ProtocolLevel.V5;
  const clean = packet.clean !== false;
  const expirySec = Math.min(v5 ? (packet.properties?.sessionExpiryInterval ?? 0) : clean ? 0 : limits.maxSessionExpirySec, limits.maxSessionExpirySec);
  if (!mayConnect(conn, clientId, expirySec, auth.identity)) return;
  conn.identity = auth.identity;
  conn.identify(clientId);
  // The authenticator parsed the user name already (AuthResult.modelId).
  conn.modelId = auth.modelId;
  if (packet.will !== undefined) {
    const check = checkTopicName(packet.will.topic);
    if (!check.ok) return conn.protocolError(Violation.WillTopicInvalid, ReasonCode.TopicNameInvalid, check.reason);
    const will = packet.will;
    conn.will = { message: toBrokerMessage(will.topic, toBuffer(will.payload), will.qos ?? QoSLevel.AtMostOnce, will.retain ?? false, will.properties, clientId), delaySec: will.properties?.willDelayInterval ?? 0 };
  }
  const requestedKeepAlive = packet.keepalive ?? 0;
  const keepAliveSec = negotiateKeepAlive(requestedKeepAlive, limits.maxKeepAliveSec, conn.protocolVersion);
  conn.keepAliveMs = keepAliveSec * 1000;
  const writer = conn.writer;
  writer.clientMaxPacketBytes = packet.properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
  writer.clientReceiveMaximum = v5 ? packet.properties?.receiveMaximum : undefined;
  // The client's Topic Alias Maximum, within the hub's own per-connection bound.
  const outboundAliasMaximum = Math.min(packet.properties?.topicAliasMaximum ?? 0, limits.topicAliasMaximum);
  if (v5 && outboundAliasMaximum > 0) writer.aliases = new OutboundTopicAliases(outboundAliasMaximum);

  // Session takeover (MQTT-3.1.4-3) and a pending delayed will of the same client (cancelled).
  ctx.live.get(clientId)?.takeOver();
  const pendingWill = ctx.pendingWills.get(clientId);
  if (pendingWill !== undefined) clearTimeout(pendingWill);
  ctx.pendingWills.delete(clientId);
  ctx.live.set(clientId, conn);

  const sessionPresent = !clean && ctx.broker.session(clientId) !== undefined;
  conn.send(connack(conn, packet, { sessionPresent, assigned, keepAliveSec, expirySec }));
  // A resumed session keeps only what the policy in force allows: it may have changed meanwhile.
  const resumed = sessionPresent ? ctx.broker.session(clientId) : undefined;
  if (resumed !== undefined && ctx.authorizer !== undefined) {
    const denied = ctx.authorizer.deniedSubscriptions(auth.identity, clientId, resumed.subscriptions.keys());
    if (denied.length > 0) ctx.broker.unsubscribe(resumed, denied);
  }
  const { session } = ctx.broker.connect(clientId, clean, expirySec, writer, v5 ? packet.properties?.receiveMaximum : undefined, auth.identity);
  conn.session = session;
  writer.session = session;
  linkToCore(conn, session, auth.identity);
  conn.armKeepAlive();
  // Guarded: building the child logger costs more than a whole CONNECT when debug is off.
  if (ctx.logger.isLevelEnabled('debug')) conn.log.debug({ event: 'mqtt.connected', protocolVersion: conn.protocolVersion, clean, keepAliveSec, sessionPresent }, 'client connected');
}

/** The checks after authentication: the authorization policy, the client id's owner, the session quota. */
function mayConnect(conn: ConnectionState, clientId: string, expirySec: number, identity: ClientIdentity): boolean {
  const { ctx, info } = conn;
  if (ctx.authorizer !== undefined && !ctx.authorizer.canConnect(identity, clientId)) {
    conn.log.info({ event: 'mqtt.connect_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', clientId }, 'the authorization policy does not allow this client to connect');
    refuse(conn, ConnackReturnCode.NotAuthorized, ReasonCode.NotAuthorized, 'not authorized to connect');
    return false;
  }
  // Before any takeover: a client id (and its session) of another identity is refused, and the
  // client holding it is left alone (docs/security.md, "Client ids and sessions").
  const refusal = clientIdRefusal(identity, clientId, ctx.broker.session(clientId)?.owner, ctx.identities, ctx.iotHub?.edgeDeviceId);
  if (refusal !== undefined) {
    ctx.refusals.warn('connect:client-id', { event: 'mqtt.client_id_refused', code: 'OUTPOST_MQTT_CLIENT_ID_NOT_OWNED', clientId, reason: refusal, identity: identity.kind, listener: info.listener, remoteAddress: info.remoteAddress }, 'client id belongs to another identity: CONNECT refused');
    refuse(conn, ConnackReturnCode.NotAuthorized, ReasonCode.NotAuthorized, 'client id belongs to another identity');
    return false;
  }
  if (ctx.broker.wouldExceedSessionQuota(clientId, expirySec, identity)) {
    ctx.refusals.warn('connect:session-quota', { event: 'mqtt.session_quota_exceeded', code: 'OUTPOST_MQTT_SESSION_QUOTA_EXCEEDED', clientId, identity: identity.kind, listener: info.listener, remoteAddress: info.remoteAddress }, 'this identity holds mqtt.maxSessionsPerIdentity persistent sessions: CONNECT refused');
    refuse(conn, ConnackReturnCode.ServerUnavailable, ReasonCode.QuotaExceeded, 'persistent session quota of this identity exceeded');
    return false;
  }
  return true;
}

function refuseCredentials(conn: ConnectionState, clientId: string, auth: Extract<AuthResult, { ok: false }>): void {
  const bad = auth.reason === 'bad-credentials';
  const code = auth.code ?? 'OUTPOST_AUTH_NOT_AUTHORIZED';
  conn.ctx.refusals.info(`auth:${code}`, { event: 'mqtt.auth_failed', code, clientId, remoteAddress: conn.info.remoteAddress, listener: conn.info.listener, reason: auth.logDetail ?? auth.detail }, 'authentication failed');
  if (auth.reason === 'busy') return refuse(conn, ConnackReturnCode.ServerUnavailable, ReasonCode.ServerBusy, auth.detail);
  refuse(conn, bad ? ConnackReturnCode.BadUserNameOrPassword : ConnackReturnCode.NotAuthorized, bad ? ReasonCode.BadUserNameOrPassword : ReasonCode.NotAuthorized, auth.detail);
}

interface Accepted {
  readonly sessionPresent: boolean;
  readonly assigned: string | undefined;
  readonly keepAliveSec: number;
  readonly expirySec: number;
}

function connack(conn: ConnectionState, packet: IConnectPacket, accepted: Accepted): IConnackPacket {
  const reply: IConnackPacket = { cmd: 'connack', sessionPresent: accepted.sessionPresent };
  if (conn.protocolVersion !== ProtocolLevel.V5) {
    reply.returnCode = ConnackReturnCode.Accepted;
    return reply;
  }
  const limits = conn.ctx.limits;
  reply.reasonCode = ReasonCode.Success;
  reply.properties = {
    receiveMaximum: limits.receiveMaximum,
    maximumPacketSize: limits.maxPacketBytes,
    topicAliasMaximum: limits.topicAliasMaximum,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
    ...(accepted.assigned !== undefined ? { assignedClientIdentifier: accepted.assigned } : {}),
    ...(accepted.keepAliveSec !== (packet.keepalive ?? 0) ? { serverKeepAlive: accepted.keepAliveSec } : {}),
    ...(accepted.expirySec !== (packet.properties?.sessionExpiryInterval ?? 0) ? { sessionExpiryInterval: accepted.expirySec } : {}),
  };
  return reply;
}

/**
 * An IoT Hub identity's connection joins the hub core's registry (one registration per CONNECT),
 * and a resumed session's desired-property and C2D subscriptions start delivering again.
 */
function linkToCore(conn: ConnectionState, session: Session, identity: ClientIdentity): void {
  const iotHub = conn.ctx.iotHub;
  if (identity.kind === 'anonymous' || iotHub === undefined) return;
  const link = new MqttClientLink(conn, identity.deviceId, identity.kind === 'module' ? identity.moduleId : undefined);
  conn.coreLink = link;
  iotHub.clients.register(link);
  if (session.iotHub?.has('desired-properties') === true) conn.iotHub?.resumeDesired();
  if (session.iotHub?.has('c2d') === true) conn.iotHub?.resumeC2d();
}

/** CONNACK refusing the connection (3.1.1 return code, or MQTT 5 reason code with a reason string), then close without the will. */
function refuse(conn: ConnectionState, v3Code: number, v5Code: number, detail: string): void {
  const reply: IConnackPacket = { cmd: 'connack', sessionPresent: false };
  if (conn.protocolVersion === ProtocolLevel.V5) {
    reply.reasonCode = v5Code;
    reply.properties = { reasonString: detail };
  } else reply.returnCode = v3Code;
  conn.send(reply);
  conn.will = undefined;
  conn.close('refused', false);
}
