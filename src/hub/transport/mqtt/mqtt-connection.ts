import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { Logger } from '../../../log/index.js';
import type { ClientIdentity } from '../../auth/index.js';
import type { Session } from '../../broker/index.js';
import type { ConnectionInfo } from '../protocol-adapter.js';
import { decodeConnect, encodeConnack } from './connect-codec.js';
import { handlePuback, handlePubrec, handlePubrel } from './handle-acks.js';
import { handleConnect } from './handle-connect.js';
import type { AckGroup, ConnectionState, Will } from './connection-state.js';
import { handleDisconnect, publishWill } from './handle-disconnect.js';
import { handlePublish } from './handle-publish.js';
import { handleSubscribe, handleUnsubscribe } from './handle-subscribe.js';
import { IotHubHandler } from './iothub-handler.js';
import type { MqttClientLink } from './mqtt-client-link.js';
import type { MqttContext } from './mqtt-context.js';
import { CONNECT_FIRST_BYTE, MAX_PACKET_ID, PacketType, ProtocolLevel } from './mqtt-protocol.js';
import { OutboundWriter } from './outbound-writer.js';
import { PacketFramer } from './packet-framer.js';
import { parsePacket } from './packet-parser.js';
import { Violation, violationCode } from './protocol-violation.js';
import { decodeEmptyPacket, decodePublish, decodeShortAck } from './publish-codec.js';
import { ConnackReturnCode, ReasonCode } from './reason-codes.js';

/** MQTT-3.1.2-24: one and a half keep-alive periods without a packet closes the connection. */
const KEEP_ALIVE_GRACE = 1.5;

export interface MqttConnectionOptions {
  /** The byte stream a listener accepted (TLS already negotiated). */
  readonly stream: Duplex;
  readonly info: ConnectionInfo;
  /** What every connection of the adapter shares. */
  readonly ctx: MqttContext;
}

/**
 * One MQTT connection: framing and parsing, dispatch to the packet handlers (handle-*.ts, one
 * per packet kind, as Mosquitto's handle_*.c and Aedes' handlers), keep-alive, and closing. What
 * it sends goes through its OutboundWriter. Every protocol violation ends the connection with the
 * MQTT 5 reason code where there is one, a log line naming the client and the reason, and nothing
 * else disturbed.
 *
 * The state below is read and written by the handlers of this folder (through ConnectionState);
 * the class is not exported beyond the MQTT transport.
 */
export class MqttConnection implements ConnectionState {
  protocolVersion: 3 | 4 | 5 = ProtocolLevel.V311;
  readonly stream: Duplex;
  readonly info: ConnectionInfo;
  readonly ctx: MqttContext;
  /** Everything sent to the client: the session's link, and the hub core's deliveries. */
  readonly writer: OutboundWriter;
  session: Session | undefined;
  clientId = '';
  identity: ClientIdentity | undefined;
  /** Removes this connection from the hub core's registry of connected clients. */
  coreLink: MqttClientLink | undefined;
  /** `model-id` of an IoT Hub client's user name (IoT Plug and Play), read at CONNECT. */
  modelId: string | undefined;
  will: Will | undefined;
  keepAliveMs = 0;
  closed = false;
  /** An asynchronous authentication is under way: later packets wait in the framer. */
  authenticating = false;
  /** Acknowledgements waiting for their messages to be accepted, in PUBLISH order. */
  readonly ackGroups: AckGroup[] = [];
  /** MQTT 5 topic aliases the client set; made on the first (most clients never use them). */
  inboundAliases: Map<number, string> | undefined;
  private readonly framer: PacketFramer;
  private iotHubHandler: IotHubHandler | undefined;
  private logger: Logger | undefined;
  private lastPacketAtMs = Date.now();
  /** Its place on the adapter's DeadlineWheel (the CONNECT deadline, then the keep-alive limit). */
  wheelSlot = -1;
  /** CONNACK sent: the deadline is the keep-alive limit, no longer the CONNECT one. */
  private keepAliveArmed = false;

  constructor(options: MqttConnectionOptions) {
    const { stream, info, ctx } = options;
    this.stream = stream;
    this.info = info;
    this.ctx = ctx;
    this.framer = new PacketFramer(ctx.limits.maxPacketBytes);
    this.writer = new OutboundWriter({
      stream,
      maxBufferBytes: ctx.limits.maxConnectionBufferBytes,
      maxInflight: ctx.limits.maxInflight,
      owner: this,
    });
    // The stream's listeners are four functions shared by every connection, which find theirs on
    // the stream: four closures and their context were about 250 B of every open connection (issue 20).
    (stream as OwnedStream)[CONNECTION] = this;
    stream.on('data', MqttConnection.onStreamData);
    stream.on('drain', MqttConnection.onStreamDrain);
    stream.on('error', MqttConnection.onStreamError);
    stream.on('close', MqttConnection.onStreamClose);
    ctx.deadlines.set(this, Date.now() + info.connectTimeoutMs);
  }

  private static onStreamData(this: OwnedStream, chunk: Buffer): void {
    this[CONNECTION]!.onData(chunk);
  }

  private static onStreamDrain(this: OwnedStream): void {
    this[CONNECTION]!.session?.drain();
  }

  private static onStreamError(this: OwnedStream): void {
    this[CONNECTION]!.close('socket-error', true);
  }

  private static onStreamClose(this: OwnedStream): void {
    const connection = this[CONNECTION]!;
    connection.close('socket-closed', true);
    connection.ctx.streamClosed(connection);
  }

  /**
   * An IoT Hub identity's topic handling (telemetry, twins, methods, module inputs), made on its
   * first PUBLISH or SUBSCRIBE: in a reconnect storm most clients connect and go, and this is
   * state every open connection would otherwise keep. Undefined for anonymous clients.
   */
  get iotHub(): IotHubHandler | undefined {
    const auth = this.identity;
    const services = this.ctx.iotHub;
    if (this.iotHubHandler !== undefined || auth === undefined || auth.kind === 'anonymous' || services === undefined) return this.iotHubHandler;
    this.iotHubHandler = new IotHubHandler({ authIdentity: auth, services, broker: this.ctx.broker, scope: this.ctx.scope, log: () => this.log, writer: this.writer, modelId: this.modelId });
    return this.iotHubHandler;
  }

  /** The connection's child logger, made on first use: most connections never log. */
  get log(): Logger {
    // Its bindings are made here too (not at accept): most connections never log.
    this.logger ??= this.ctx.logger.child({ remoteAddress: this.info.remoteAddress, listener: this.info.listener, ...(this.clientId === '' ? {} : { clientId: this.clientId }) });
    return this.logger;
  }

  /** OutboundWriterOwner: a packet could not be encoded (our defect); it costs this connection only. */
  encodeFailed(): void {
    this.close('encode-failed', true);
  }

  /** The client id is known (CONNECT accepted): log lines name it from now on. */
  identify(clientId: string): void {
    this.clientId = clientId;
    this.logger = undefined;
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

  send(packet: Packet): void {
    this.writer.send(packet);
  }

  // ---- inbound -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastPacketAtMs = Date.now();
    this.framer.push(chunk);
    this.processFrames();
  }

  /** Parses and dispatches every complete packet received (again after an asynchronous CONNECT). */
  processFrames(): void {
    // Packets pipelined behind CONNECT wait in the framer until authentication is done
    // (3.1.1 section 3.1.4 lets clients send them before CONNACK).
    while (!this.authenticating && !this.closed) {
      const frame = this.framer.next();
      if (frame.kind === 'need-more') return;
      if (frame.kind === 'too-large') return this.protocolError(Violation.PacketTooLarge, ReasonCode.PacketTooLarge, `${frame.bytes} bytes`);
      if (frame.kind === 'malformed') return this.protocolError(Violation.MalformedLength, ReasonCode.MalformedPacket, frame.reason);
      const packet = this.parse(frame.packet);
      if (packet === undefined) return;
      this.dispatch(packet);
    }
  }

  private parse(bytes: Buffer): Packet | undefined {
    if (this.session === undefined) {
      // The CONNECT's protocol level decides how every later packet is parsed.
      const level = protocolLevel(bytes);
      if (level !== ProtocolLevel.V31 && level !== ProtocolLevel.V311 && level !== ProtocolLevel.V5) {
        if (level !== undefined && bytes[0] === CONNECT_FIRST_BYTE) this.writer.sendRaw(encodeConnack(false, ConnackReturnCode.UnacceptableProtocolVersion));
        this.protocolError(Violation.UnsupportedProtocolLevel, undefined, String(level));
        return undefined;
      }
      if (level !== ProtocolLevel.V5) {
        const connect = decodeConnect(bytes);
        if (connect !== undefined) return connect;
      }
    }
    if (this.session !== undefined) {
      // Fast decoders for the packets of the message path; anything else goes to mqtt-packet.
      const type = bytes[0]! >> 4;
      if (type === PacketType.Publish) {
        const fast = decodePublish(bytes, this.protocolVersion);
        if (fast !== undefined) return { cmd: 'publish', topic: fast.topic, payload: fast.payload, qos: fast.qos, dup: fast.dup, retain: fast.retain, messageId: fast.messageId };
      } else if (type >= PacketType.Puback && type <= PacketType.Pubcomp) {
        const ack = decodeShortAck(bytes);
        if (ack !== undefined) return ack as Packet;
      } else if (type === PacketType.Pingreq || type === PacketType.Disconnect) {
        const empty = decodeEmptyPacket(bytes, this.protocolVersion);
        if (empty !== undefined) return empty as Packet;
      }
    }
    const result = parsePacket(bytes, this.protocolVersion);
    if (!result.ok) {
      this.protocolError(Violation.MalformedPacket, result.reasonCode ?? ReasonCode.MalformedPacket, result.reason);
      return undefined;
    }
    return result.packet;
  }

  private dispatch(packet: Packet): void {
    if (this.session === undefined) {
      if (packet.cmd !== 'connect') return this.protocolError(Violation.FirstPacketNotConnect, ReasonCode.ProtocolError, packet.cmd);
      return handleConnect(this, packet);
    }
    if (needsPacketId(packet) && !(Number.isInteger(packet.messageId) && packet.messageId! > 0 && packet.messageId! <= MAX_PACKET_ID)) {
      return this.protocolError(Violation.InvalidPacketId, ReasonCode.ProtocolError, packet.cmd);
    }
    switch (packet.cmd) {
      case 'publish':
        return handlePublish(this, this.session, packet);
      case 'puback':
      case 'pubcomp':
        return handlePuback(this, this.session, packet.cmd, packet.messageId ?? 0);
      case 'pubrec':
        return handlePubrec(this.session, packet.messageId ?? 0);
      case 'pubrel':
        return handlePubrel(this, this.session, packet.messageId ?? 0);
      case 'subscribe':
        return handleSubscribe(this, this.session, packet);
      case 'unsubscribe':
        return handleUnsubscribe(this, this.session, packet);
      case 'pingreq':
        return this.send({ cmd: 'pingresp' });
      case 'disconnect':
        return handleDisconnect(this, this.session, packet);
      case 'connect':
        return this.protocolError(Violation.SecondConnect, ReasonCode.ProtocolError);
      default:
        return this.protocolError(Violation.UnexpectedPacket, ReasonCode.ProtocolError, packet.cmd);
    }
  }

  // ---- keep-alive and closing --------------------------------------------------------------

  armKeepAlive(): void {
    this.keepAliveArmed = true;
    if (this.keepAliveMs === 0) this.ctx.deadlines.delete(this);
    else this.ctx.deadlines.set(this, Date.now() + this.keepAliveMs * KEEP_ALIVE_GRACE);
  }

  /**
   * Its deadline came (DeadlineWheel): no CONNECT in time, or no packet for one and a half
   * keep-alive periods (MQTT-3.1.2-24) closes it; otherwise the next deadline.
   */
  due(nowMs: number): number | undefined {
    if (this.closed) return undefined;
    if (!this.keepAliveArmed) {
      this.protocolError(Violation.ConnectTimeout, undefined);
      return undefined;
    }
    if (this.keepAliveMs === 0) return undefined;
    const limitMs = this.keepAliveMs * KEEP_ALIVE_GRACE;
    if (nowMs - this.lastPacketAtMs < limitMs) return this.lastPacketAtMs + limitMs;
    this.protocolError(Violation.KeepAliveTimeout, ReasonCode.KeepAliveTimeout);
    return undefined;
  }

  /**
   * Closes the connection for a protocol violation: counted by kind, logged rate-limited, then
   * DISCONNECT with `reasonCode` (MQTT 5, after CONNACK) or just the close.
   */
  protocolError(violation: Violation, reasonCode: number | undefined, detail?: string): void {
    if (this.closed) return;
    const errors = this.ctx.protocolErrors;
    errors.set(violation, (errors.get(violation) ?? 0) + 1);
    const reason = detail === undefined ? violation : `${violation}: ${detail}`;
    const line = { event: 'mqtt.protocol_error', code: violationCode(violation), clientId: this.clientId || undefined, remoteAddress: this.info.remoteAddress, listener: this.info.listener, reason, reasonCode };
    this.ctx.refusals.info(`protocol:${violation}:${reasonCode ?? ''}`, line, 'closing connection');
    if (reasonCode !== undefined) this.disconnectWith(reasonCode, true);
    else this.close('protocol-error', true);
  }

  disconnectWith(code: number, withWill: boolean): void {
    if (this.closed) return;
    // Only MQTT 5 has a server DISCONNECT, and only after CONNACK (MQTT-3.14.0-1).
    if (this.protocolVersion === ProtocolLevel.V5 && this.session !== undefined) this.send({ cmd: 'disconnect', reasonCode: code });
    this.close('server-disconnect', withWill);
  }

  close(why: string, withWill: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.iotHubHandler?.close();
    if (this.coreLink !== undefined) {
      this.ctx.iotHub?.clients.remove(this.coreLink);
      this.coreLink = undefined;
    }
    // What was written before closing (a refusal CONNACK, a DISCONNECT) goes out before the end;
    // then hub-core deliveries in flight are reported lost (after the link is gone, so none is
    // offered to this connection again).
    this.writer.flush();
    this.writer.close();
    this.ctx.deadlines.delete(this);
    if (this.session !== undefined) {
      if (this.ctx.live.get(this.clientId) === this) this.ctx.live.delete(this.clientId);
      this.ctx.broker.disconnect(this.session);
    }
    if (withWill && this.will !== undefined) publishWill(this, this.will);
    this.will = undefined;
    if (this.session === undefined) {
      // Nothing was ever owed to this peer (no CONNACK yet beyond a refusal): close at once.
      this.stream.end();
      this.stream.destroy();
    } else {
      this.stream.end();
      // Give the final packets a moment to leave, then make sure the socket is gone.
      setTimeout(destroyStream, 1_000, this.stream).unref();
    }
    if (this.ctx.logger.isLevelEnabled('debug')) this.log.debug({ event: 'mqtt.disconnected', why }, 'connection closed');
  }
}

function destroyStream(stream: Duplex): void {
  stream.destroy();
}

/** Where an accepted stream keeps its connection, for the shared listeners above. */
const CONNECTION = Symbol('mqttConnection');
type OwnedStream = Duplex & { [CONNECTION]?: MqttConnection };

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

/** Protocol level byte of a framed CONNECT (after the protocol name), or undefined. */
function protocolLevel(packet: Buffer): number | undefined {
  if (packet[0] !== CONNECT_FIRST_BYTE) return undefined;
  let offset = 1;
  while (offset < packet.length && (packet[offset]! & 0x80) !== 0) offset += 1;
  offset += 1;
  if (offset + 2 > packet.length) return undefined;
  const nameLength = packet.readUInt16BE(offset);
  const levelAt = offset + 2 + nameLength;
  return levelAt < packet.length ? packet[levelAt] : undefined;
}
