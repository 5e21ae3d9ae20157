// Module-subscriber role (routed scenarios): one module subscribes at QoS 1 to its inputs
// (`devices/<d>/modules/<m>/inputs/#`), acknowledges every message (one write of PUBACKs per
// chunk read) and records end-to-end latency: receive time (one clock read per chunk) minus the
// timestamp the publisher wrote into the payload, both CLOCK_MONOTONIC.
import { readCredentials } from './credentials.js';
import { ModuleConnection } from './module-connection.js';
import { encodePuback, encodeSubscribe, monotonicMicros, PacketType } from './mqtt-wire.js';
import { Histogram } from '../lib/histogram.js';
import type { ModuleSubscriberConfig, SubscriberReport } from './protocol.js';

const SUBSCRIBE_PACKET_ID = 1;
const SUBACK_FAILURE = 0x80;
/** PUBACK's fixed header; the packet id follows (MQTT 3.1.1 section 3.4). */
const PUBACK_HEADER = encodePuback(0).subarray(0, 2);
const PUBACK_BYTES = 4;

export class ModuleSubscriber {
  private readonly connection: ModuleConnection;
  private readonly readyPromise: Promise<void>;
  private recording = false;
  private receivedTotal = 0;
  private receivedAtBegin = 0;
  private receivedAtEnd = -1;
  private readonly latency = new Histogram();
  private chunkMicros = 0;
  private acks = Buffer.allocUnsafe(PUBACK_BYTES * 1024);
  private ackCount = 0;

  constructor(config: ModuleSubscriberConfig) {
    const [line] = readCredentials(config.credentialsFile, 1);
    const { clientId, credentials } = line!;
    const [deviceId, moduleId] = clientId.split('/');
    let subacked: ((error?: Error) => void) | undefined;
    const subscribed = new Promise<void>((resolve, reject) => {
      subacked = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.connection = new ModuleConnection({ host: config.host, port: config.port, caPem: config.caPem, servername: config.servername, clientId, credentials, ...(config.websocketPath === undefined ? {} : { websocketPath: config.websocketPath }) }, (buf, _start, type, flags, bodyStart, end) => {
      if (type === PacketType.Publish) this.onPublish(buf, flags, bodyStart);
      else if (type === PacketType.Suback) subacked?.(buf[end - 1] === SUBACK_FAILURE ? new Error(`${clientId}: SUBSCRIBE to its inputs refused`) : undefined);
    });
    // After the visitor has seen a chunk's packets: their PUBACKs in one write.
    this.connection.onData(() => this.flushAcks());
    this.readyPromise = this.connection.ready.then(() => {
      this.connection.send(encodeSubscribe(SUBSCRIBE_PACKET_ID, `devices/${deviceId}/modules/${moduleId}/inputs/#`, 1));
      return subscribed;
    });
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
    await this.connection.close();
    return {
      role: 'subscriber',
      receivedTotal: this.receivedTotal,
      receivedInWindow: (this.receivedAtEnd < 0 ? this.receivedTotal : this.receivedAtEnd) - this.receivedAtBegin,
      latency: this.latency.snapshot(),
    };
  }

  private onPublish(buf: Buffer, flags: number, bodyStart: number): void {
    // The first PUBLISH of a chunk reads the clock for all of them.
    if (this.ackCount === 0) this.chunkMicros = monotonicMicros();
    this.receivedTotal += 1;
    const idAt = bodyStart + 2 + buf.readUInt16BE(bodyStart);
    const payloadAt = idAt + (((flags >> 1) & 3) > 0 ? 2 : 0);
    if (this.recording) this.latency.record(this.chunkMicros - buf.readDoubleBE(payloadAt));
    if ((this.ackCount + 1) * PUBACK_BYTES > this.acks.length) {
      const bigger = Buffer.allocUnsafe(this.acks.length * 2);
      this.acks.copy(bigger, 0, 0, this.ackCount * PUBACK_BYTES);
      this.acks = bigger;
    }
    PUBACK_HEADER.copy(this.acks, this.ackCount * PUBACK_BYTES);
    buf.copy(this.acks, this.ackCount * PUBACK_BYTES + 2, idAt, idAt + 2);
    this.ackCount += 1;
  }

  /** The PUBACKs of the chunk just scanned, in one write. */
  private flushAcks(): void {
    if (this.ackCount === 0) return;
    this.connection.send(Buffer.from(this.acks.subarray(0, this.ackCount * PUBACK_BYTES)));
    this.ackCount = 0;
  }
}
