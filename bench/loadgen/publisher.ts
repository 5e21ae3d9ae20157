// Publisher role: one connection publishing as fast as the broker takes it.
//
// QoS 0: each write is `batch` PUBLISHes plus a PINGREQ; at most `pingsInFlight` writes await
// their PINGRESP. QoS 1: at most `window` PUBLISHes await their PUBACK; every chunk of PUBACKs
// read is answered with one write that refills the window. Packets are copied from a pre-encoded
// batch and only the timestamp (and packet id) is patched, so a message costs a few stores.
import { closeGracefully, openConnection } from './connection.js';
import { DISCONNECT, encodePublishTemplate, monotonicMicros, PacketType, PINGREQ, type PublishTemplate } from './mqtt-wire.js';
import { seededBytes } from './prng.js';
import { Histogram } from '../lib/histogram.js';
import type { PublisherConfig, PublisherReport } from './protocol.js';

const PACKET_ID_LIMIT = 65_535;
const DRAIN_TIMEOUT_MS = 3000;

export class Publisher {
  private readonly template: PublishTemplate;
  private readonly batchBytes: Buffer;
  private readonly connection;
  private running = false;
  private recording = false;
  private pingsOutstanding = 0;
  private inflight = 0;
  private nextPacketId = 1;
  private readonly sentAtMicros = new Float64Array(PACKET_ID_LIMIT + 1);
  private sentTotal = 0;
  private ackedTotal = 0;
  private sentAtBegin = 0;
  private sentAtEnd = -1;
  private ackedAtBegin = 0;
  private ackedAtEnd = -1;
  private readonly ackLatency = new Histogram();
  private drained: (() => void) | undefined;
  /** config.topics: where the topic's last digit run sits in a packet, its width, and the next turn. */
  private readonly topicDigits: { offset: number; width: number } | undefined;
  private topicNext = 0;

  constructor(private readonly config: PublisherConfig) {
    const payload = seededBytes(config.seed + config.index, config.payloadBytes);
    payload.writeUInt32BE(config.index, 8);
    this.template = encodePublishTemplate(config.topic, config.qos, payload);
    this.topicDigits = config.topics === undefined ? undefined : topicDigits(config.topic, config.topics, this.template.timestampOffset - (config.qos > 0 ? 2 : 0));
    const perWrite = config.qos === 0 ? config.batch : config.window;
    this.batchBytes = Buffer.alloc(this.template.bytes.length * perWrite);
    for (let i = 0; i < perWrite; i++) this.template.bytes.copy(this.batchBytes, i * this.template.bytes.length);
    this.connection = openConnection(
      { host: config.host, port: config.port, clientId: config.clientId, keepAliveSec: 0, timeoutMs: 10_000 },
      (buf, _start, type, _flags, bodyStart) => {
        if (type === PacketType.Pingresp) this.onPingresp();
        else if (type === PacketType.Puback) this.onPuback(buf.readUInt16BE(bodyStart));
      },
    );
    // Refill once per chunk of PUBACKs rather than once per PUBACK.
    if (config.qos === 1) this.connection.socket.on('data', () => this.refill());
  }

  get ready(): Promise<void> {
    return this.connection.ready;
  }

  start(): void {
    this.running = true;
    if (this.config.qos === 0) {
      for (let i = 0; i < this.config.pingsInFlight; i++) this.writeBatch();
    } else {
      this.refill();
    }
  }

  mark(phase: 'begin' | 'end'): void {
    if (phase === 'begin') {
      this.sentAtBegin = this.sentTotal;
      this.ackedAtBegin = this.ackedTotal;
      this.ackLatency.reset();
      this.recording = true;
    } else {
      this.sentAtEnd = this.sentTotal;
      this.ackedAtEnd = this.ackedTotal;
      this.recording = false;
    }
  }

  /** Stops publishing, waits (bounded) for outstanding acks, disconnects and reports. */
  async stop(): Promise<PublisherReport> {
    this.running = false;
    if (this.pingsOutstanding > 0 || this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await closeGracefully(this.connection.socket, DISCONNECT);
    const end = this.sentAtEnd < 0 ? this.sentTotal : this.sentAtEnd;
    const ackedEnd = this.ackedAtEnd < 0 ? this.ackedTotal : this.ackedAtEnd;
    return {
      role: 'publisher',
      sentTotal: this.sentTotal,
      sentInWindow: end - this.sentAtBegin,
      ackedInWindow: this.config.qos === 0 ? end - this.sentAtBegin : ackedEnd - this.ackedAtBegin,
      ackLatency: this.ackLatency.snapshot(),
    };
  }

  private writeBatch(): void {
    const { bytes, timestampOffset } = this.template;
    const size = bytes.length;
    const count = this.config.batch;
    // A fresh buffer per write: the socket may hold a written buffer until the kernel takes it.
    const out = Buffer.allocUnsafe(this.batchBytes.length + PINGREQ.length);
    this.batchBytes.copy(out, 0);
    PINGREQ.copy(out, this.batchBytes.length);
    const now = monotonicMicros();
    for (let i = 0; i < count; i++) {
      out.writeDoubleBE(now, i * size + timestampOffset);
      this.nextTopic(out, i * size);
    }
    this.pingsOutstanding += 1;
    this.sentTotal += count;
    this.connection.socket.write(out);
  }

  private onPingresp(): void {
    this.pingsOutstanding -= 1;
    if (this.running) this.writeBatch();
    else if (this.pingsOutstanding === 0) this.drained?.();
  }

  private onPuback(packetId: number): void {
    this.inflight -= 1;
    this.ackedTotal += 1;
    if (this.recording) this.ackLatency.record(monotonicMicros() - this.sentAtMicros[packetId]!);
    if (!this.running && this.inflight === 0) this.drained?.();
  }

  private refill(): void {
    if (!this.running) return;
    const count = this.config.window - this.inflight;
    if (count <= 0 || count < this.config.refillMin) return;
    const { bytes, timestampOffset, packetIdOffset } = this.template;
    const size = bytes.length;
    const out = Buffer.allocUnsafe(size * count);
    this.batchBytes.copy(out, 0, 0, size * count);
    const now = monotonicMicros();
    for (let i = 0; i < count; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === PACKET_ID_LIMIT ? 1 : id + 1;
      out.writeUInt16BE(id, i * size + packetIdOffset);
      out.writeDoubleBE(now, i * size + timestampOffset);
      this.nextTopic(out, i * size);
      this.sentAtMicros[id] = now;
    }
    this.inflight += count;
    this.sentTotal += count;
    this.connection.socket.write(out);
  }

  /** Writes the next turn (config.topics) into the topic's digit run of the packet at `packetStart`. */
  private nextTopic(out: Buffer, packetStart: number): void {
    const digits = this.topicDigits;
    if (digits === undefined) return;
    let turn = this.topicNext;
    this.topicNext = turn + 1 === this.config.topics ? 0 : turn + 1;
    for (let w = digits.width - 1; w >= 0; w--) {
      out[packetStart + digits.offset + w] = 0x30 + (turn % 10);
      turn = Math.floor(turn / 10);
    }
  }
}

/** The last run of ASCII digits in `topic` (which ends at `topicEnd` in the packet); it must hold topics - 1. */
function topicDigits(topic: string, topics: number, topicEnd: number): { offset: number; width: number } {
  const bytes = Buffer.from(topic, 'utf8');
  const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;
  let end = bytes.length;
  while (end > 0 && !isDigit(bytes[end - 1])) end--;
  let start = end;
  while (start > 0 && isDigit(bytes[start - 1])) start--;
  if (end === start || 10 ** (end - start) < topics) throw new Error(`topics=${topics} needs a digit run in the topic wide enough for ${topics - 1}: ${topic}`);
  return { offset: topicEnd - bytes.length + start, width: end - start };
}
