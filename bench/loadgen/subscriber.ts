// Subscriber role: one or more connections (fan-out puts many in one process) subscribed to one
// filter. Counts PUBLISHes, records publish→receive latency from the payload timestamp (one clock
// read per chunk, not per message), and for QoS 1 answers each chunk's PUBLISHes with one write
// of PUBACKs.
import type { Socket } from 'node:net';
import { closeGracefully, openConnection } from './connection.js';
import { DISCONNECT, encodeSubscribe, monotonicMicros, PacketType } from './mqtt-wire.js';
import { Histogram } from '../lib/histogram.js';
import type { SubscriberConfig, SubscriberReport } from './protocol.js';

const SUBSCRIBE_PACKET_ID = 1;
const SUBACK_FAILURE = 0x80;
const PUBACK_BYTES = 4;

export class Subscriber {
  private readonly sockets: Socket[] = [];
  private readonly readyPromise: Promise<void>;
  private recording = false;
  private receivedTotal = 0;
  private receivedAtBegin = 0;
  private receivedAtEnd = -1;
  private readonly latency = new Histogram();
  /** Clock read once per chunk, shared by the visitor for every packet in that chunk. */
  private chunkMicros = 0;

  constructor(private readonly config: SubscriberConfig) {
    const waits: Array<Promise<void>> = [];
    for (let n = config.first; n < config.first + config.count; n++) waits.push(this.openOne(`${config.clientIdPrefix}${n}`));
    this.readyPromise = Promise.all(waits).then(() => undefined);
  }

  get ready(): Promise<void> {
    return this.readyPromise;
  }

  mark(phase: 'begin' | 'end'): void {
    if (phase === 'begin') {
      this.receivedAtBegin = this.receivedTotal;
      this.latency.reset();
      this.recording = true;
    } else {
      this.receivedAtEnd = this.receivedTotal;
      this.recording = false;
    }
  }

  async stop(): Promise<SubscriberReport> {
    await Promise.all(this.sockets.map((socket) => closeGracefully(socket, DISCONNECT)));
    const end = this.receivedAtEnd < 0 ? this.receivedTotal : this.receivedAtEnd;
    return {
      role: 'subscriber',
      receivedTotal: this.receivedTotal,
      receivedInWindow: end - this.receivedAtBegin,
      latency: this.latency.snapshot(),
    };
  }

  private async openOne(clientId: string): Promise<void> {
    const { qos } = this.config;
    let subscribed: ((error?: Error) => void) | undefined;
    const subacked = new Promise<void>((resolve, reject) => {
      subscribed = (error) => (error === undefined ? resolve() : reject(error));
    });
    // PUBACKs for the current chunk, written once after the chunk is scanned.
    let acks: Buffer | null = null;
    let ackCount = 0;
    const connection = openConnection(
      { host: this.config.host, port: this.config.port, clientId, keepAliveSec: 0, timeoutMs: 10_000 },
      (buf, _start, type, flags, bodyStart) => {
        if (type === PacketType.Publish) {
          this.receivedTotal += 1;
          const topicLength = buf.readUInt16BE(bodyStart);
          const packetQos = (flags >> 1) & 3;
          const idAt = bodyStart + 2 + topicLength;
          const payloadAt = idAt + (packetQos > 0 ? 2 : 0);
          if (this.recording) this.latency.record(this.chunkMicros - buf.readDoubleBE(payloadAt));
          if (packetQos === 1) {
            if (acks === null) acks = Buffer.allocUnsafe(PUBACK_BYTES * 256);
            if ((ackCount + 1) * PUBACK_BYTES > acks.length) {
              const bigger = Buffer.allocUnsafe(acks.length * 2);
              acks.copy(bigger, 0, 0, ackCount * PUBACK_BYTES);
              acks = bigger;
            }
            const at = ackCount * PUBACK_BYTES;
            acks[at] = PacketType.Puback << 4;
            acks[at + 1] = 2;
            acks[at + 2] = buf[idAt]!;
            acks[at + 3] = buf[idAt + 1]!;
            ackCount += 1;
          }
        } else if (type === PacketType.Suback) {
          const granted = buf[bodyStart + 2];
          if (granted === SUBACK_FAILURE) subscribed?.(new Error(`SUBSCRIBE to ${this.config.filter} refused`));
          else subscribed?.();
        }
      },
    );
    const socket = connection.socket;
    this.sockets.push(socket);
    // openConnection registered the scanner's 'data' listener already; the clock read goes ahead
    // of it and the PUBACK write after it.
    socket.prependListener('data', () => {
      this.chunkMicros = monotonicMicros();
    });
    socket.on('data', () => {
      if (ackCount > 0 && acks !== null) {
        socket.write(acks.subarray(0, ackCount * PUBACK_BYTES));
        acks = null;
        ackCount = 0;
      }
    });
    await connection.ready;
    socket.write(encodeSubscribe(SUBSCRIBE_PACKET_ID, this.config.filter, qos));
    await subacked;
  }
}
