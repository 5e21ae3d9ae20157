import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { IConnectPacket, IPublishPacket, ISubscribePacket, Packet } from 'mqtt-packet';
import { errorSpec, toOutpostError } from '../../../errors/index.js';
import type { Logger } from '../../../log/index.js';
import { clientIdRefusal, type AuthResult, type ClientIdentity } from '../../auth/index.js';
import { checkTopicFilter, checkTopicName, parseSharedFilter, type BrokerMessage, type QoS, type Session, type Subscription } from '../../broker/index.js';
import type { ConnectionInfo } from '../protocol-adapter.js';
import type { LiveConnection, MqttContext } from './mqtt-context.js';
import { IotHubHandler } from './iothub-handler.js';
import { MqttClientLink } from './mqtt-client-link.js';
import { PacketFramer } from './packet-framer.js';
import { parsePacket } from './packet-parser.js';
import { decodeConnect } from './connect-codec.js';
import { negotiateKeepAlive } from './keep-alive.js';
import { OutboundTopicAliases } from './outbound-topic-aliases.js';
import { OutboundWriter } from './outbound-writer.js';
import { decodeEmptyPacket, decodePublish, decodeShortAck } from './publish-codec.js';
import { ConnackReturnCode, ReasonCode, SUBACK_FAILURE_V3 } from './reason-codes.js';

type Will = { message: BrokerMessage; delaySec: number };

/** Acknowledgements of PUBLISHes accepted together: sent when `wait` settles, after every earlier group. */
interface AckGroup {
  readonly wait: Promise<void> | undefined;
  readonly acks: Packet[];
  settled: boolean;
  error: unknown;
}

/**
 * One MQTT connection: the CONNECT handshake, keep-alive, and the translation between packets
 * and the broker core. Every protocol violation ends the connection with the MQTT 5 reason code
 * where there is one, a log line naming the client and the reason, and nothing else disturbed.
 */
export class MqttConnection implements LiveConnection {
  protocolVersion: 3 | 4 | 5 = 4;
  private readonly framer: PacketFramer;
  /** Everything sent to the client: the session's link, and the hub core's deliveries. */
  private readonly writer: OutboundWriter;
  private session: Session | undefined;
  private clientId = '';
  private identity: ClientIdentity | undefined;
  private iotHubHandler: IotHubHandler | undefined;
  /** Removes this connection from the hub core's registry of connected clients. */
  private removeLink: (() => void) | undefined;
  /** `model-id` of an IoT Hub client's user name (IoT Plug and Play), read at CONNECT. */
  private modelId: string | undefined;
  private will: Will | undefined;
  private keepAliveMs = 0;
  private lastPacketAtMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private authenticating = false;
  /** Acknowledgements waiting for their messages to be accepted, in PUBLISH order. */
  private readonly ackGroups: AckGroup[] = [];
  private readonly inboundAliases = new Map<number, string>();
  private inboundInflight = 0;
  private logger: Logger | undefined;
  private logBindings: Record<string, unknown>;

  constructor(
    private readonly stream: Duplex,
    private readonly info: ConnectionInfo,
    private readonly ctx: MqttContext,
  ) {
    this.framer = new PacketFramer(ctx.limits.maxPacketBytes);
    this.writer = new OutboundWriter({
      stream,
      maxBufferBytes: ctx.limits.maxConnectionBufferBytes,
      maxInflight: ctx.limits.maxInflight,
      log: () => this.log,
      onEncodeFailed: () => this.close('encode-failed', true),
    });
    this.logBindings = { remoteAddress: info.remoteAddress, listener: info.listener };
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('drain', () => this.session?.drain());
    stream.on('error', () => this.close('socket-error', true));
    stream.on('close', () => this.close('socket-closed', true));
    this.timer = setTimeout(() => this.protocolError('connect timeout', undefined), info.connectTimeoutMs);
  }

  /**
   * An IoT Hub identity's topic handling (telemetry, twins, methods, module inputs), made on its
   * first PUBLISH or SUBSCRIBE: in a reconnect storm most clients connect and go, and this is
   * state every open connection would otherwise keep. Undefined for anonymous clients.
   */
  private get iotHub(): IotHubHandler | undefined {
    const auth = this.identity;
    const services = this.ctx.iotHub;
    if (this.iotHubHandler !== undefined || auth === undefined || auth.kind === 'anonymous' || services === undefined) return this.iotHubHandler;
    this.iotHubHandler = new IotHubHandler({ authIdentity: auth, services, broker: this.ctx.broker, scope: this.ctx.scope, log: () => this.log, writer: this.writer, modelId: this.modelId });
    return this.iotHubHandler;
  }

  /** The connection's child logger, made on first use: most connections never log. */
  private get log(): Logger {
    this.logger ??= this.ctx.logger.child(this.logBindings);
    return this.logger;
  }

  takeOver(): void {
    this.log.info({ event: 'mqtt.session_taken_over', clientId: this.clientId }, 'another connection took over this client id');
    this.disconnectWith(ReasonCode.SessionTakenOver, true);
  }

  /** The authorization policy no longer lets this client connect: DISCONNECT 0x87 (MQTT 5), close; no will. */
  revoke(): void {
    this.disconnectWith(ReasonCode.NotAuthorized, false);
  }

  /** Graceful shutdown: tell MQTT 5 clients why, persist the session state, close. */
  shutdown(): void {
    this.disconnectWith(ReasonCode.ServerShuttingDown, false);
  }

  // ---- inbound -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastPacketAtMs = Date.now();
    this.framer.push(chunk);
    this.processFrames();
  }

  private processFrames(): void {
    // Packets pipelined behind CONNECT wait in the framer until authentication is done
    // (3.1.1 section 3.1.4 lets clients send them before CONNACK).
    while (!this.authenticating && !this.closed) {
      const frame = this.framer.next();
      if (frame.kind === 'need-more') return;
      if (frame.kind === 'too-large') return this.protocolError(`packet of ${frame.bytes} bytes exceeds the maximum`, ReasonCode.PacketTooLarge);
      if (frame.kind === 'malformed') return this.protocolError(frame.reason, ReasonCode.MalformedPacket);
      const packet = this.parse(frame.packet);
      if (packet === undefined) return;
      this.dispatch(packet);
    }
  }

  private parse(bytes: Buffer): Packet | undefined {
    if (this.session === undefined) {
      // The CONNECT's protocol level decides how every later packet is parsed.
      const level = protocolLevel(bytes);
      if (level !== 3 && level !== 4 && level !== 5) {
        if (level !== undefined && bytes[0] === 0x10) this.writer.sendRaw(Buffer.from([0x20, 0x02, 0x00, ConnackReturnCode.UnacceptableProtocolVersion]));
        this.protocolError(`unsupported protocol level ${String(level)}`, undefined);
        return undefined;
      }
      if (level !== 5) {
        const connect = decodeConnect(bytes);
        if (connect !== undefined) return connect;
      }
    }
    if (this.session !== undefined) {
      const type = bytes[0]! >> 4;
      if (type === 3) {
        const fast = decodePublish(bytes, this.protocolVersion);
        if (fast !== undefined) return { cmd: 'publish', topic: fast.topic, payload: fast.payload, qos: fast.qos, dup: fast.dup, retain: fast.retain, messageId: fast.messageId };
      } else if (type >= 4 && type <= 7) {
        const ack = decodeShortAck(bytes);
        if (ack !== undefined) return ack as Packet;
      } else if (type === 12 || type === 14) {
        const empty = decodeEmptyPacket(bytes, this.protocolVersion);
        if (empty !== undefined) return empty as Packet;
      }
    }
    const result = parsePacket(bytes, this.protocolVersion);
    if (!result.ok) {
      this.protocolError(`malformed packet: ${result.reason}`, result.reasonCode ?? ReasonCode.MalformedPacket);
      return undefined;
    }
    return result.packet;
  }

  private dispatch(packet: Packet): void {
    if (this.session === undefined) {
      if (packet.cmd !== 'connect') return this.protocolError(`first packet must be CONNECT, got ${packet.cmd}`, ReasonCode.ProtocolError); // MQTT-3.1.0-1
      this.onConnect(packet);
      return;
    }
    // MQTT-2.2.1-3: packets that carry a packet identifier need a non-zero one.
    if (needsPacketId(packet) && !(Number.isInteger(packet.messageId) && packet.messageId! > 0 && packet.messageId! <= 0xffff)) {
      return this.protocolError(`${packet.cmd} without a valid packet identifier`, ReasonCode.ProtocolError);
    }
    switch (packet.cmd) {
      case 'publish':
        return this.onPublish(packet);
      case 'puback':
      case 'pubcomp': {
        const packetId = packet.messageId ?? 0;
        // Hub-core deliveries (module inputs, C2D: QoS 1 only) have packet ids of their own range.
        const known = packet.cmd === 'puback' && OutboundWriter.isCorePacketId(packetId) ? this.writer.completeCore(packetId) : this.session.complete(packetId);
        if (!known) this.log.debug({ event: 'mqtt.unknown_ack', clientId: this.clientId, packetId }, 'ack for an unknown packet id');
        return;
      }
      case 'pubrec':
        this.session.received(packet.messageId ?? 0);
        return;
      case 'pubrel':
        this.session.inboundQos2.delete(packet.messageId ?? 0);
        this.send({ cmd: 'pubcomp', messageId: packet.messageId ?? 0, reasonCode: ReasonCode.Success });
        return;
      case 'subscribe':
        return this.onSubscribe(packet);
      case 'unsubscribe': {
        if (packet.unsubscriptions.length === 0) return this.protocolError('UNSUBSCRIBE without topic filters', ReasonCode.ProtocolError); // MQTT-3.10.3-2
        const found = this.ctx.broker.unsubscribe(this.session, packet.unsubscriptions);
        // mqtt-packet carries MQTT 5 UNSUBACK reason codes in `granted`.
        const granted = found.map((f) => (f ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted));
        this.send({ cmd: 'unsuback', messageId: packet.messageId ?? 0, granted });
        return;
      }
      case 'pingreq':
        this.send({ cmd: 'pingresp' });
        return;
      case 'disconnect': {
        const reason = packet.reasonCode ?? ReasonCode.NormalDisconnection;
        const expiry = packet.properties?.sessionExpiryInterval;
        if (expiry !== undefined && this.session.expiryIntervalSec === 0 && expiry > 0) {
          return this.protocolError('session expiry changed from 0 at DISCONNECT', ReasonCode.ProtocolError); // MQTT-3.14.2-2
        }
        if (expiry !== undefined) this.session.expiryIntervalSec = Math.min(expiry, this.ctx.limits.maxSessionExpirySec);
        // MQTT-3.14.4-3: a normal DISCONNECT discards the will; 0x04 asks for it.
        if (reason !== ReasonCode.DisconnectWithWill) this.will = undefined;
        this.close('client-disconnect', reason === ReasonCode.DisconnectWithWill);
        return;
      }
      case 'connect':
        return this.protocolError('second CONNECT', ReasonCode.ProtocolError); // MQTT-3.1.0-2
      default:
        return this.protocolError(`unexpected ${packet.cmd} from a client`, ReasonCode.ProtocolError);
    }
  }

  private onConnect(packet: IConnectPacket): void {
    this.protocolVersion = (packet.protocolVersion ?? 4) as 3 | 4 | 5;
    // Before anything is sent: a refusing CONNACK is encoded for the client's version too.
    this.writer.protocolVersion = this.protocolVersion;
    const v5 = this.protocolVersion === 5;
    const clean = packet.clean !== false;
    let clientId = packet.clientId;
    let assigned: string | undefined;
    if (clientId === '') {
      if (!v5 && !clean) return this.refuse(ConnackReturnCode.IdentifierRejected, ReasonCode.ClientIdentifierNotValid, 'empty client id with a persistent session'); // MQTT-3.1.3-8
      clientId = assigned = `outpost-${randomUUID()}`;
    }
    if (this.ctx.stopping) return this.refuse(ConnackReturnCode.ServerUnavailable, ReasonCode.ServerShuttingDown, 'shutting down');
    const auth = this.ctx.authenticator.authenticate({
      protocol: 'mqtt',
      listener: this.info.listener,
      secure: this.info.secure,
      remoteAddress: this.info.remoteAddress,
      clientId,
      username: packet.username,
      password: packet.password,
      peerCertificate: this.info.secure ? (this.stream as TLSSocket).getPeerCertificate?.(true) : undefined,
    });
    if (!(auth instanceof Promise)) {
      this.completeConnect(packet, clientId, assigned, auth);
      return;
    }
    // An asynchronous check (a registry lookup): packets pipelined behind CONNECT wait in the
    // framer, and the socket stops reading, until it is done.
    this.authenticating = true;
    this.stream.pause();
    auth.then(
      (result) => this.completeConnect(packet, clientId, assigned, result),
      (error: unknown) => {
        this.log.error({ event: 'mqtt.auth_error', code: 'OUTPOST_INTERNAL', err: error }, 'authentication failed unexpectedly');
        this.refuse(ConnackReturnCode.ServerUnavailable, ReasonCode.UnspecifiedError, 'authentication unavailable');
      },
    ).finally(() => {
      this.authenticating = false;
      if (this.closed) return;
      this.stream.resume();
      this.processFrames();
    });
  }

  private completeConnect(packet: IConnectPacket, clientId: string, assigned: string | undefined, auth: AuthResult): void {
    if (this.closed) return;
    const v5 = this.protocolVersion === 5;
    const clean = packet.clean !== false;
    if (!auth.ok) {
      const bad = auth.reason === 'bad-credentials';
      const code = auth.code ?? 'OUTPOST_AUTH_NOT_AUTHORIZED';
      this.ctx.refusals.info(`auth:${code}`, { event: 'mqtt.auth_failed', code, clientId, remoteAddress: this.info.remoteAddress, listener: this.info.listener, reason: auth.logDetail ?? auth.detail }, 'authentication failed');
      if (auth.reason === 'busy') return this.refuse(ConnackReturnCode.ServerUnavailable, ReasonCode.ServerBusy, auth.detail);
      return this.refuse(bad ? ConnackReturnCode.BadUserNameOrPassword : ConnackReturnCode.NotAuthorized, bad ? ReasonCode.BadUserNameOrPassword : ReasonCode.NotAuthorized, auth.detail);
    }
    if (this.ctx.authorizer !== undefined && !this.ctx.authorizer.canConnect(auth.identity, clientId)) {
      this.log.info({ event: 'mqtt.connect_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', clientId }, 'the authorization policy does not allow this client to connect');
      return this.refuse(ConnackReturnCode.NotAuthorized, ReasonCode.NotAuthorized, 'not authorized to connect');
    }
    const limits = this.ctx.limits;
    const expirySec = Math.min(v5 ? (packet.properties?.sessionExpiryInterval ?? 0) : clean ? 0 : limits.maxSessionExpirySec, limits.maxSessionExpirySec);
    // Before any takeover: a client id (and its session) of another identity is refused, and the
    // client holding it is left alone (docs/security.md, "Client ids and sessions").
    const refusal = clientIdRefusal(auth.identity, clientId, this.ctx.broker.session(clientId)?.owner, this.ctx.identities, this.ctx.iotHub?.edgeDeviceId);
    if (refusal !== undefined) {
      this.ctx.refusals.warn('connect:client-id', { event: 'mqtt.client_id_refused', code: 'OUTPOST_MQTT_CLIENT_ID_NOT_OWNED', clientId, reason: refusal, identity: auth.identity.kind, listener: this.info.listener, remoteAddress: this.info.remoteAddress }, 'client id belongs to another identity: CONNECT refused');
      return this.refuse(ConnackReturnCode.NotAuthorized, ReasonCode.NotAuthorized, 'client id belongs to another identity');
    }
    if (this.ctx.broker.wouldExceedSessionQuota(clientId, expirySec, auth.identity)) {
      this.ctx.refusals.warn('connect:session-quota', { event: 'mqtt.session_quota_exceeded', code: 'OUTPOST_MQTT_SESSION_QUOTA_EXCEEDED', clientId, identity: auth.identity.kind, listener: this.info.listener, remoteAddress: this.info.remoteAddress }, 'this identity holds mqtt.maxSessionsPerIdentity persistent sessions: CONNECT refused');
      return this.refuse(ConnackReturnCode.ServerUnavailable, ReasonCode.QuotaExceeded, 'persistent session quota of this identity exceeded');
    }
    this.identity = auth.identity;
    this.clientId = clientId;
    this.logBindings.clientId = clientId;
    this.logger = undefined;
    // The authenticator parsed the user name already (AuthResult.modelId).
    this.modelId = auth.modelId;
    if (packet.will !== undefined) {
      const check = checkTopicName(packet.will.topic);
      if (!check.ok) return this.protocolError(`will topic: ${check.reason}`, ReasonCode.TopicNameInvalid);
      this.will = { message: this.toMessage(packet.will.topic, toBuffer(packet.will.payload), packet.will.qos ?? 0, packet.will.retain ?? false, packet.will.properties), delaySec: packet.will.properties?.willDelayInterval ?? 0 };
    }
    const requestedKeepAlive = packet.keepalive ?? 0;
    const keepAliveSec = negotiateKeepAlive(requestedKeepAlive, limits.maxKeepAliveSec, this.protocolVersion);
    this.keepAliveMs = keepAliveSec * 1000;
    this.writer.clientMaxPacketBytes = packet.properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
    this.writer.clientReceiveMaximum = v5 ? packet.properties?.receiveMaximum : undefined;
    // The client's Topic Alias Maximum, within the hub's own per-connection bound.
    const outboundAliasMaximum = Math.min(packet.properties?.topicAliasMaximum ?? 0, limits.topicAliasMaximum);
    if (v5 && outboundAliasMaximum > 0) this.writer.aliases = new OutboundTopicAliases(outboundAliasMaximum);

    // Session takeover (MQTT-3.1.4-3) and a pending delayed will of the same client (cancelled).
    this.ctx.live.get(clientId)?.takeOver();
    const pendingWill = this.ctx.pendingWills.get(clientId);
    if (pendingWill !== undefined) clearTimeout(pendingWill);
    this.ctx.pendingWills.delete(clientId);
    this.ctx.live.set(clientId, this);

    const sessionPresent = !clean && this.ctx.broker.session(clientId) !== undefined;
    const connack: Packet = { cmd: 'connack', sessionPresent };
    if (v5) {
      connack.reasonCode = ReasonCode.Success;
      connack.properties = {
        receiveMaximum: limits.receiveMaximum,
        maximumPacketSize: limits.maxPacketBytes,
        topicAliasMaximum: limits.topicAliasMaximum,
        retainAvailable: true,
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: true,
        sharedSubscriptionAvailable: true,
        ...(assigned !== undefined ? { assignedClientIdentifier: assigned } : {}),
        ...(keepAliveSec !== requestedKeepAlive ? { serverKeepAlive: keepAliveSec } : {}),
        ...(expirySec !== (packet.properties?.sessionExpiryInterval ?? 0) ? { sessionExpiryInterval: expirySec } : {}),
      };
    } else connack.returnCode = ConnackReturnCode.Accepted;
    this.send(connack);
    // A resumed session keeps only what the policy in force allows: it may have changed meanwhile.
    const resumed = sessionPresent ? this.ctx.broker.session(clientId) : undefined;
    if (resumed !== undefined && this.ctx.authorizer !== undefined) {
      const denied = this.ctx.authorizer.deniedSubscriptions(auth.identity, clientId, resumed.subscriptions.keys());
      if (denied.length > 0) this.ctx.broker.unsubscribe(resumed, denied);
    }
    const { session } = this.ctx.broker.connect(clientId, clean, expirySec, this.writer, v5 ? packet.properties?.receiveMaximum : undefined, auth.identity);
    this.session = session;
    this.writer.session = session;
    // The hub core finds this client here (methods, module inputs); one registration per CONNECT.
    const id = auth.identity;
    if (id.kind !== 'anonymous' && this.ctx.iotHub !== undefined) {
      const link = new MqttClientLink({ deviceId: id.deviceId, moduleId: id.kind === 'module' ? id.moduleId : undefined, subscriptions: () => this.session?.iotHub, writer: this.writer, log: () => this.log });
      this.removeLink = this.ctx.iotHub.clients.add(link);
    }
    // A resumed session subscribed to desired properties gets them (and what it missed) again.
    if (session.iotHub.has('desired-properties')) this.iotHub?.resumeDesired();
    if (session.iotHub.has('c2d')) this.iotHub?.resumeC2d();
    this.armKeepAlive();
    // Guarded: building the child logger costs more than a whole CONNECT when debug is off.
    if (this.ctx.logger.isLevelEnabled('debug')) this.log.debug({ event: 'mqtt.connected', protocolVersion: this.protocolVersion, clean, keepAliveSec, sessionPresent }, 'client connected');
  }

  private onPublish(packet: IPublishPacket): void {
    const session = this.session!;
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > this.ctx.limits.topicAliasMaximum) return this.protocolError(`topic alias ${alias} out of range`, ReasonCode.TopicAliasInvalid);
      if (topic === '') {
        const known = this.inboundAliases.get(alias);
        if (known === undefined) return this.protocolError(`unknown topic alias ${alias}`, ReasonCode.ProtocolError);
        topic = known;
      } else this.inboundAliases.set(alias, topic);
    }
    const check = checkTopicName(topic);
    if (!check.ok) return this.protocolError(`publish topic: ${check.reason}`, ReasonCode.TopicNameInvalid);
    const packetId = packet.messageId ?? 0;
    if (packet.qos === 2 && session.inboundQos2.has(packetId)) {
      // A retransmitted QoS 2 PUBLISH: acknowledge again, deliver once (MQTT-4.3.3-10).
      this.send({ cmd: 'pubrec', messageId: packetId, reasonCode: ReasonCode.Success });
      return;
    }
    if (packet.qos > 0 && this.protocolVersion === 5 && session.inboundQos2.size >= this.ctx.limits.receiveMaximum) {
      return this.protocolError('receive maximum exceeded', ReasonCode.ReceiveMaximumExceeded);
    }
    const iotHub = this.iotHub;
    if (iotHub !== undefined) {
      const outcome = iotHub.onPublish(topic, packet, toBuffer(packet.payload));
      if (outcome.kind !== 'general') {
        // IoT Hub takes QoS 0 and 1 only: it closes the connection on QoS 2 (section 5.3).
        if (packet.qos === 2) return this.protocolError('QoS 2 on an IoT Hub topic', ReasonCode.QoSNotSupported);
        if (outcome.kind === 'refused') {
          this.log.info({ event: 'iothub.publish_refused', code: outcome.notAuthorized ? 'OUTPOST_AUTH_NOT_AUTHORIZED' : 'OUTPOST_MQTT_BAD_TOPIC', topic, reason: outcome.reason }, 'publish refused');
          if (this.protocolVersion !== 5) return this.protocolError(`refused IoT Hub publish: ${outcome.reason}`, undefined);
          if (packet.qos === 1) this.send({ cmd: 'puback', messageId: packetId, reasonCode: outcome.notAuthorized ? ReasonCode.NotAuthorized : ReasonCode.TopicNameInvalid });
          return;
        }
        if (packet.qos === 1) this.acknowledge({ cmd: 'puback', messageId: packetId, reasonCode: ReasonCode.Success }, outcome.accepted);
        else outcome.accepted.catch(() => undefined);
        return;
      }
    }
    if (this.ctx.authorizer !== undefined && !this.ctx.authorizer.canPublish(this.identity!, this.clientId, topic)) {
      this.ctx.refusals.warn(`publish:${this.clientId}`, { event: 'mqtt.publish_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', clientId: this.clientId, topic }, 'publish not allowed by the authorization policy');
      if (packet.qos === 0) return;
      // MQTT 5 says why; a 3.1.1 client cannot be told, so its message is acknowledged and dropped.
      const reasonCode = this.protocolVersion === 5 ? ReasonCode.NotAuthorized : ReasonCode.Success;
      if (packet.qos === 2) session.inboundQos2.add(packetId);
      this.send({ cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packetId, reasonCode });
      return;
    }
    this.ctx.broker.publish(this.toMessage(topic, toBuffer(packet.payload), packet.qos, packet.retain, packet.properties));
    if (packet.qos === 0) return;
    if (packet.qos === 2) session.inboundQos2.add(packetId);
    // Acknowledge only once what the publish made durable (retained, queued for an offline
    // persistent session) is in the write-ahead log.
    // Reason code 0 lets mqtt-packet use the 2-byte MQTT 5 form (MQTT-3.4.2-1), which some clients
    // (Debian's paho 1.6) require for PUBREL and which every client accepts.
    this.acknowledge({ cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packetId, reasonCode: ReasonCode.Success }, this.ctx.broker.durability());
  }

  /**
   * Sends an acknowledgement after `wait`, keeping acknowledgements in PUBLISH order (MQTT-4.6.0-2).
   * Consecutive acknowledgements waiting for the same promise (one store batch holds many
   * messages) form one group with one handler, so a burst costs no promise per message.
   */
  private acknowledge(ack: Packet, wait: Promise<void> | undefined): void {
    const groups = this.ackGroups;
    if (groups.length === 0 && wait === undefined) {
      this.send(ack);
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
          this.sendSettledAcks();
        },
        (error: unknown) => {
          group.settled = true;
          group.error = error ?? new Error('not accepted');
          this.sendSettledAcks();
        },
      );
    }
  }

  /** Sends the acknowledgements of settled groups at the head of the line, in order. */
  private sendSettledAcks(): void {
    const groups = this.ackGroups;
    let done = 0;
    while (done < groups.length && groups[done]!.settled) {
      const group = groups[done++]!;
      for (const ack of group.acks) {
        if (group.error === undefined) this.send(ack);
        else this.notAccepted(ack, group.error);
      }
    }
    if (done > 0) groups.splice(0, done);
  }

  /**
   * The hub did not take a message (store full, disk full): an MQTT 5 PUBACK says why; 3.1.1 has
   * no negative PUBACK and acknowledgements may not be skipped (MQTT-4.6.0-2), so the connection
   * closes and the client sends the message again after reconnecting.
   */
  private notAccepted(ack: Packet, error: unknown): void {
    const failure = toOutpostError(error);
    const reasonCode = errorSpec(failure.code).mqttReason ?? ReasonCode.UnspecifiedError;
    this.ctx.refusals.warn(`not-accepted:${failure.code}`, { event: 'mqtt.publish_not_accepted', code: failure.code, clientId: this.clientId, reasonCode }, failure.message);
    if (this.protocolVersion === 5 && ack.cmd === 'puback') this.send({ ...ack, reasonCode });
    else this.disconnectWith(reasonCode, false);
  }

  private onSubscribe(packet: ISubscribePacket): void {
    const session = this.session!;
    if (packet.subscriptions.length === 0) return this.protocolError('SUBSCRIBE without topic filters', ReasonCode.ProtocolError); // MQTT-3.8.3-3
    const subscriptionId = packet.properties?.subscriptionIdentifier;
    if (subscriptionId === 0) return this.protocolError('subscription identifier 0', ReasonCode.ProtocolError); // MQTT-3.8.2-1... (0 is invalid)
    const granted: number[] = [];
    const accepted: Subscription[] = [];
    for (const request of packet.subscriptions) {
      const iotHub = this.iotHub?.onSubscribe(session, request.topic) ?? 'general';
      if (iotHub !== 'general') {
        // IoT Hub grants at most QoS 1 (section 5.3).
        granted.push(iotHub === 'granted' ? Math.min(request.qos, 1) : this.protocolVersion === 5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE_V3);
        continue;
      }
      const shared = parseSharedFilter(request.topic);
      const inner = shared.ok && shared.shared !== undefined ? shared.shared.filter : request.topic;
      const check = shared.ok ? checkTopicFilter(inner) : shared;
      if (check.ok && this.ctx.authorizer !== undefined && !this.ctx.authorizer.canSubscribe(this.identity!, this.clientId, request.topic)) {
        granted.push(this.protocolVersion === 5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE_V3);
        this.log.info({ event: 'mqtt.subscribe_refused', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', filter: request.topic }, 'subscription not allowed by the authorization policy');
        continue;
      }
      if (!check.ok || (shared.ok && shared.shared !== undefined && request.nl === true)) {
        // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error; we refuse the filter alone.
        granted.push(this.protocolVersion === 5 ? ReasonCode.TopicFilterInvalid : SUBACK_FAILURE_V3);
        this.log.info({ event: 'mqtt.subscribe_refused', filter: request.topic, reason: check.ok ? 'no local on a shared subscription' : check.reason }, 'subscription refused');
        continue;
      }
      accepted.push({
        clientId: this.clientId,
        filter: request.topic,
        qos: request.qos,
        noLocal: request.nl === true,
        retainAsPublished: request.rap === true,
        retainHandling: (request.rh ?? 0) as 0 | 1 | 2,
        subscriptionId,
        shareGroup: shared.ok ? shared.shared?.group : undefined,
      });
      granted.push(request.qos);
    }
    this.send({ cmd: 'suback', messageId: packet.messageId ?? 0, granted });
    // MQTT-3.8.4: retained messages follow the SUBACK.
    this.ctx.broker.subscribe(session, accepted);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private toMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, properties: IPublishPacket['properties']): BrokerMessage {
    let forwarded: BrokerMessage['properties'];
    let expiresAtMs: number | undefined;
    if (properties !== undefined) {
      const { topicAlias: _alias, subscriptionIdentifier: _ids, messageExpiryInterval, ...rest } = properties as NonNullable<IPublishPacket['properties']> & { willDelayInterval?: number };
      delete (rest as { willDelayInterval?: number }).willDelayInterval;
      if (messageExpiryInterval !== undefined) expiresAtMs = Date.now() + messageExpiryInterval * 1000;
      forwarded = Object.keys(rest).length > 0 ? rest : undefined;
    }
    return { topic, payload, qos, retain, properties: forwarded, expiresAtMs, senderClientId: this.clientId };
  }

  private armKeepAlive(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.keepAliveMs === 0) return;
    // MQTT-3.1.2-24: one and a half keep-alive periods without a packet closes the connection.
    const limitMs = this.keepAliveMs * 1.5;
    const check = () => {
      const idleMs = Date.now() - this.lastPacketAtMs;
      if (idleMs >= limitMs) return this.protocolError('keep-alive timeout', ReasonCode.KeepAliveTimeout);
      this.timer = setTimeout(check, limitMs - idleMs);
    };
    this.timer = setTimeout(check, limitMs);
  }

  private send(packet: Packet): void {
    this.writer.send(packet);
  }

  private refuse(v3Code: number, v5Code: number, detail: string): void {
    const connack: Packet = { cmd: 'connack', sessionPresent: false };
    if (this.protocolVersion === 5) {
      connack.reasonCode = v5Code;
      connack.properties = { reasonString: detail };
    } else connack.returnCode = v3Code;
    this.send(connack);
    this.will = undefined;
    this.close('refused', false);
  }

  private protocolError(reason: string, code: number | undefined): void {
    if (this.closed) return;
    // The reason's kind, numbers blanked ("packet of # bytes exceeds the maximum"): a bounded set of
    // keys for the counters and the rate-limited line, whatever the client sent.
    const kind = reason.split(':')[0]!.replace(/\d+/g, '#');
    this.ctx.protocolErrors.set(kind, (this.ctx.protocolErrors.get(kind) ?? 0) + 1);
    const errorCode = reason === 'connect timeout' ? 'OUTPOST_LISTENER_CONNECT_TIMEOUT' : 'OUTPOST_MQTT_PROTOCOL_ERROR';
    this.ctx.refusals.info(`protocol:${kind}:${code ?? ''}`, { event: 'mqtt.protocol_error', code: errorCode, clientId: this.clientId || undefined, remoteAddress: this.info.remoteAddress, listener: this.info.listener, reason, reasonCode: code }, 'closing connection');
    if (code !== undefined) this.disconnectWith(code, true);
    else this.close('protocol-error', true);
  }

  private disconnectWith(code: number, publishWill: boolean): void {
    if (this.closed) return;
    // Only MQTT 5 has a server DISCONNECT, and only after CONNACK (MQTT-3.14.0-1).
    if (this.protocolVersion === 5 && this.session !== undefined) this.send({ cmd: 'disconnect', reasonCode: code });
    this.close('server-disconnect', publishWill);
  }

  private close(why: string, publishWill: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.iotHubHandler?.close();
    this.removeLink?.();
    this.removeLink = undefined;
    // What was written before closing (a refusal CONNACK, a DISCONNECT) goes out before the end;
    // then hub-core deliveries in flight are reported lost (after the link is gone, so none is
    // offered to this connection again).
    this.writer.flush();
    this.writer.close();
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.session !== undefined) {
      if (this.ctx.live.get(this.clientId) === this) this.ctx.live.delete(this.clientId);
      this.ctx.broker.disconnect(this.session);
    }
    if (publishWill && this.will !== undefined) this.publishWill(this.will);
    this.will = undefined;
    if (this.session === undefined) {
      // Nothing was ever owed to this peer (no CONNACK yet beyond a refusal): close at once.
      this.stream.end();
      this.stream.destroy();
    } else {
      this.stream.end();
      // Give the final packets a moment to leave, then make sure the socket is gone.
      setTimeout(() => this.stream.destroy(), 1_000).unref();
    }
    if (this.ctx.logger.isLevelEnabled('debug')) this.log.debug({ event: 'mqtt.disconnected', why }, 'connection closed');
  }

  private publishWill(will: Will): void {
    const delaySec = Math.min(will.delaySec, this.session?.expiryIntervalSec ?? 0);
    if (delaySec <= 0) {
      this.ctx.broker.publish(will.message);
      return;
    }
    const clientId = this.clientId;
    const timer = setTimeout(() => {
      this.ctx.pendingWills.delete(clientId);
      this.ctx.broker.publish(will.message);
    }, delaySec * 1000);
    timer.unref();
    this.ctx.pendingWills.set(clientId, timer);
  }
}

function needsPacketId(packet: Packet): boolean {
  switch (packet.cmd) {
    case 'publish':
      return packet.qos > 0;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'subscribe':
    case 'unsubscribe':
      return true;
    default:
      return false;
  }
}

function toBuffer(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}

/** Protocol level byte of a framed CONNECT (after the protocol name), or undefined. */
function protocolLevel(packet: Buffer): number | undefined {
  if (packet[0] !== 0x10) return undefined;
  let offset = 1;
  while (offset < packet.length && (packet[offset]! & 0x80) !== 0) offset += 1;
  offset += 1;
  if (offset + 2 > packet.length) return undefined;
  const nameLength = packet.readUInt16BE(offset);
  const levelAt = offset + 2 + nameLength;
  return levelAt < packet.length ? packet[levelAt] : undefined;
}
