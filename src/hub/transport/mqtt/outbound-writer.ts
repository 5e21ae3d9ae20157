import type { Duplex } from 'node:stream';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { Logger } from '../../../log/index.js';
import { LAST_SESSION_PACKET_ID, PacketIdSlots, type BrokerMessage, type QoS, type Session, type SessionLink } from '../../broker/index.js';
import type { DeliveryOutcome } from '../../endpoints/index.js';
import { encodeConnack } from './connect-codec.js';
import type { OutboundTopicAliases } from './outbound-topic-aliases.js';
import { encodePublishHeader, encodeShortAck } from './publish-codec.js';
import { MAX_PACKET_ID, QoSLevel } from './mqtt-protocol.js';
import { ReasonCode } from './reason-codes.js';

/**
 * Hub-core deliveries take the packet ids above the session's range (see LAST_SESSION_PACKET_ID
 * for why two ranges rather than one shared allocator).
 */
const FIRST_CORE_PACKET_ID = LAST_SESSION_PACKET_ID + 1;
const LAST_CORE_PACKET_ID = MAX_PACKET_ID;
const CORE_PACKET_IDS = LAST_CORE_PACKET_ID - FIRST_CORE_PACKET_ID + 1;
/** MQTT 3.1.1 has no Receive Maximum; 65535 is the MQTT 5 value that means "no limit". */
const NO_RECEIVE_MAXIMUM = 65_535;

/**
 * The end of a turn's writes: one function for every writer (issue 20: a bound or arrow `flush`
 * per writer was a closure and its context, about 100 B of every open connection).
 */
function flushWriter(writer: OutboundWriter): void {
  writer.flush();
}

const NO_CHUNKS: Buffer[] = [];

/** PINGRESP is two fixed bytes in every version; nothing writes into a buffer once sent, so one serves every connection. */
const PINGRESP = Buffer.from([0xd0, 0x00]);

export interface OutboundWriterOptions {
  readonly stream: Duplex;
  /** Bytes written and not yet taken by the socket past which the connection is congested (mqtt.maxConnectionBuffer). */
  readonly maxBufferBytes: number;
  /** QoS 1/2 PUBLISHes in flight to the client, session and hub core together (mqtt.maxInflight). */
  readonly maxInflight: number;
  /** The connection: its logger, and what to do when a packet cannot be encoded. */
  readonly owner: OutboundWriterOwner;
}

/**
 * What the writer needs of its connection. An object rather than two closures: this state is kept
 * by every open connection (two closures and the options object were ~180 B of each).
 */
export interface OutboundWriterOwner {
  /** The connection's logger, made on first use (most connections never log). */
  readonly log: Logger;
  /** A packet could not be encoded: our defect, and it costs this connection only. */
  encodeFailed(): void;
}

/**
 * Everything a connection sends to its client: packets are encoded here and leave in one stream
 * write per event-loop turn. It is the broker session's link (SessionLink: general-broker PUBLISHes
 * with the session's packet ids) and it owns the hub core's deliveries (module inputs, C2D): their
 * packet ids, their window and their PUBACKs. Those never enter the broker session: they are
 * reported `lost` when the connection closes and the core (the store, the C2D queue) sends them
 * again, while the session only keeps what the general broker owes a persistent client.
 */
export class OutboundWriter implements SessionLink {
  protocolVersion: 3 | 4 | 5 = 4;
  /** The client's Maximum Packet Size (MQTT 5 CONNECT); larger packets are never sent (MQTT-3.1.2-25). */
  clientMaxPacketBytes = Number.POSITIVE_INFINITY;
  /** Topic aliases on PUBLISHes to this client; only when its MQTT 5 CONNECT asked for them. */
  aliases: OutboundTopicAliases | undefined;
  /** The session attached to this connection, once CONNACK is sent. */
  session: Session | undefined;
  private closed = false;
  /** What was written this turn; NO_CHUNKS (shared, never written) between turns, so an idle connection keeps no array. */
  private outChunks: Buffer[] = NO_CHUNKS;
  private outBytes = 0;
  /**
   * Hub-core deliveries sent and not yet acknowledged, by packet id (not a Map: see PacketIdSlots).
   * Made on the first hub-core delivery: most connections (general-broker clients, devices without
   * module inputs or C2D) never get one.
   */
  private coreInflight: PacketIdSlots<(outcome: DeliveryOutcome) => void> | undefined;
  /** mqtt.maxInflight and the client's Receive Maximum, the least: shared with the session. */
  private window: number;
  private readonly stream: Duplex;
  private readonly maxBufferBytes: number;
  private readonly maxInflight: number;
  private readonly owner: OutboundWriterOwner;

  constructor(options: OutboundWriterOptions) {
    this.stream = options.stream;
    this.maxBufferBytes = options.maxBufferBytes;
    this.maxInflight = options.maxInflight;
    this.owner = options.owner;
    this.window = options.maxInflight;
  }

  /** The client's Receive Maximum (MQTT 5 CONNECT); it bounds the session's and the core's in-flight PUBLISHes together. */
  set clientReceiveMaximum(receiveMaximum: number | undefined) {
    this.window = Math.min(this.maxInflight, receiveMaximum ?? NO_RECEIVE_MAXIMUM);
  }

  // ---- SessionLink ---------------------------------------------------------------------------

  get otherInflight(): number {
    return this.coreInflight?.size ?? 0;
  }

  isCongested(): boolean {
    return this.stream.writableLength + this.outBytes > this.maxBufferBytes;
  }

  sendPublish(message: BrokerMessage, qos: QoS, packetId: number | undefined, dup: boolean, retain: boolean, subscriptionIds: readonly number[]): boolean {
    const plain = this.aliases === undefined && (this.protocolVersion !== 5 || (message.properties === undefined && subscriptionIds.length === 0 && message.expiresAtMs === undefined));
    if (plain && message.payload.length + message.topic.length + 16 <= this.clientMaxPacketBytes) {
      this.write(encodePublishHeader(message.topic, message.payload.length, qos, dup, retain, packetId ?? 0, this.protocolVersion));
      return this.write(message.payload);
    }
    return this.sendEncodedPublish(message, qos, packetId, dup, retain, subscriptionIds);
  }

  sendPubrel(packetId: number): void {
    this.send({ cmd: 'pubrel', messageId: packetId, reasonCode: ReasonCode.Success });
  }

  // ---- hub-core deliveries -------------------------------------------------------------------

  /** Whether a hub-core delivery could be sent now (open, not congested, room in the shared window). */
  canSendCore(): boolean {
    if (this.closed || this.isCongested()) return false;
    const inflight = this.coreInflight?.size ?? 0;
    return inflight < CORE_PACKET_IDS && inflight + (this.session?.inflightCount ?? 0) < this.window;
  }

  /**
   * Sends a hub-core delivery as a QoS 1 PUBLISH. False when it cannot now (see canSendCore):
   * nothing was sent. Otherwise `onSettled` is called once: `acked` on PUBACK, `lost` when the
   * connection closes first, `rejected` when the client can never take it (larger than its
   * Maximum Packet Size, or it cannot be encoded).
   */
  sendCore(topic: string, payload: Buffer, onSettled: (outcome: DeliveryOutcome) => void): boolean {
    if (!this.canSendCore()) return false;
    const packetId = (this.coreInflight ??= new PacketIdSlots(FIRST_CORE_PACKET_ID, LAST_CORE_PACKET_ID)).add(onSettled);
    if (this.aliases === undefined && payload.length + topic.length + 16 <= this.clientMaxPacketBytes) {
      this.write(encodePublishHeader(topic, payload.length, QoSLevel.AtLeastOnce, false, false, packetId, this.protocolVersion));
      this.write(payload);
      return true;
    }
    // Aliases or a size to check: the general encoder, with a message made for it (not the common case).
    this.sendEncodedPublish({ topic, payload, qos: QoSLevel.AtLeastOnce, retain: false, properties: undefined, expiresAtMs: undefined, senderClientId: '' }, QoSLevel.AtLeastOnce, packetId, false, false, []);
    return true;
  }

  /** PUBACK of a packet id in the core's range: true when it was one of ours. */
  static isCorePacketId(packetId: number): boolean {
    return packetId >= FIRST_CORE_PACKET_ID;
  }

  /** The client acknowledged hub-core delivery `packetId`; false when none was in flight with it. */
  completeCore(packetId: number): boolean {
    const onSettled = this.coreInflight?.take(packetId);
    if (onSettled === undefined) return false;
    onSettled('acked');
    // The session may have been waiting for room in the window it shares with the core.
    const session = this.session;
    if (session !== undefined && session.queuedCount > 0) session.drain();
    return true;
  }


  /** A core delivery that never reached the client: settled `rejected`, after this turn (as an ack would be). */
  private rejectCore(packetId: number): void {
    const onSettled = this.coreInflight?.take(packetId);
    if (onSettled === undefined) return;
    queueMicrotask(() => onSettled('rejected'));
  }

  // ---- packets -------------------------------------------------------------------------------

  /** A QoS 0 PUBLISH to this connection alone (twin and method responses, desired-property patches). */
  reply(topic: string, payload: Buffer): void {
    this.sendPublish({ topic, payload, qos: 0, retain: false, properties: undefined, expiresAtMs: undefined, senderClientId: '' }, 0, undefined, false, false, []);
  }

  send(packet: Packet): void {
    if ((packet.cmd === 'puback' || packet.cmd === 'pubrec' || packet.cmd === 'pubrel' || packet.cmd === 'pubcomp') && (packet.reasonCode ?? 0) === 0 && packet.properties === undefined) {
      this.write(encodeShortAck(packet.cmd, packet.messageId ?? 0));
      return;
    }
    if (packet.cmd === 'pingresp') {
      this.write(PINGRESP);
      return;
    }
    if (packet.cmd === 'connack' && this.protocolVersion !== 5) {
      this.write(encodeConnack(packet.sessionPresent, packet.returnCode ?? 0));
      return;
    }
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet, { protocolVersion: this.protocolVersion });
    } catch (error) {
      // An encoding failure is our defect, but it must cost one connection, never the process.
      this.owner.log.error({ event: 'mqtt.encode_failed', code: 'OUTPOST_INTERNAL', cmd: packet.cmd, err: error }, 'cannot encode a packet; closing the connection');
      this.owner.encodeFailed();
      return;
    }
    this.write(bytes);
  }

  /** Raw bytes (a CONNACK refusing a protocol level the parser cannot read). */
  sendRaw(bytes: Buffer): void {
    this.write(bytes);
  }

  /**
   * The connection closed: nothing more is written, and every hub-core delivery in flight is
   * reported `lost` (its owner sends it again, on this client's next connection).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session = undefined;
    const inflight = this.coreInflight;
    if (inflight === undefined || inflight.size === 0) return;
    this.coreInflight = undefined;
    for (const onSettled of inflight.valuesInOrder()) onSettled('lost');
  }

  /**
   * Packets written in one event-loop turn leave as one buffer in one stream write: one syscall
   * (and one TLS record run) for a burst of deliveries and acknowledgements, and no per-packet
   * stream bookkeeping (profiled: per-message writes cost a third of the CPU; corking the stream
   * still paid Writable's cost per chunk).
   */
  private write(bytes: Buffer): boolean {
    if (this.closed) return false;
    if (this.outChunks === NO_CHUNKS) {
      this.outChunks = [];
      process.nextTick(flushWriter, this);
    }
    this.outChunks.push(bytes);
    this.outBytes += bytes.length;
    return !this.isCongested();
  }

  /** Hands what was written this turn to the stream (also called on close, so final packets leave first). */
  flush(): void {
    const chunks = this.outChunks;
    if (chunks === NO_CHUNKS) return;
    const bytes = this.outBytes;
    this.outChunks = NO_CHUNKS;
    this.outBytes = 0;
    if (this.stream.destroyed) return;
    this.stream.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
  }

  /** The general PUBLISH encoder: MQTT 5 properties, topic aliases, the client's size limit. */
  private sendEncodedPublish(message: BrokerMessage, qos: QoS, packetId: number | undefined, dup: boolean, retain: boolean, subscriptionIds: readonly number[]): boolean {
    const aliases = this.aliases;
    const packet: IPublishPacket = { cmd: 'publish', topic: message.topic, payload: message.payload, qos, dup, retain };
    if (packetId !== undefined) packet.messageId = packetId;
    if (this.protocolVersion === 5) {
      const properties: NonNullable<IPublishPacket['properties']> = { ...message.properties };
      if (subscriptionIds.length > 0) properties.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0]! : [...subscriptionIds];
      if (message.expiresAtMs !== undefined) properties.messageExpiryInterval = Math.max(0, Math.ceil((message.expiresAtMs - Date.now()) / 1000));
      if (Object.keys(properties).length > 0) packet.properties = properties;
    }
    let alias = 0;
    if (aliases !== undefined) {
      // Negative: bound by this packet (full topic); positive: the client knows it (empty topic).
      alias = aliases.aliasFor(message.topic);
      if (packet.properties === undefined) packet.properties = { topicAlias: Math.abs(alias) };
      else packet.properties.topicAlias = Math.abs(alias);
      if (alias > 0) packet.topic = '';
    }
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet, { protocolVersion: this.protocolVersion });
    } catch (error) {
      if (alias < 0) aliases!.forget(-alias);
      this.owner.log.error({ event: 'mqtt.encode_failed', code: 'OUTPOST_INTERNAL', cmd: 'publish', err: error }, 'cannot encode a PUBLISH; it is discarded');
      if (packetId !== undefined) this.discarded(packetId);
      return true;
    }
    if (bytes.length > this.clientMaxPacketBytes) {
      if (alias < 0) aliases!.forget(-alias);
      // MQTT-3.1.2-25: never send a packet larger than the client accepts.
      this.owner.log.warn({ event: 'mqtt.publish_too_large_for_client', bytes: bytes.length }, 'message larger than the client accepts: discarded');
      if (packetId !== undefined) this.discarded(packetId);
      return true;
    }
    return this.write(bytes);
  }

  /**
   * A QoS 1/2 PUBLISH that was never sent: a session's counts as delivered (its queue moves on);
   * a hub-core delivery is `rejected` (its owner counts it undeliverable rather than delivered).
   */
  private discarded(packetId: number): void {
    if (OutboundWriter.isCorePacketId(packetId)) this.rejectCore(packetId);
    else queueMicrotask(() => this.session?.complete(packetId));
  }
}
