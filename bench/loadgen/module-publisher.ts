// Module-publisher role (routed scenarios): one TLS connection per module identity, each
// publishing QoS 1 module output (`devices/<d>/modules/<m>/messages/events/$.on=out`) with at most
// `window` PUBLISHes awaiting PUBACK.
//
// Closed loop (offeredPerSec 0): every PUBACK lets one more go, as MQTT clients do.
// Open loop: the k-th message over all connections is due at start + k / rate, whatever the hub
// does; a 1 ms timer sends what is due, round-robin over connections with room in their window,
// and what finds every window full waits in a backlog for the next PUBACK. Each message carries
// its due instant as its timestamp, so waiting in the backlog counts in the latency (no
// coordinated omission), and the report says how much was still waiting when the window ended.
import { readCredentials } from './credentials.js';
import { ModuleConnection } from './module-connection.js';
import { encodePublishTemplate, monotonicMicros, PacketType, type PublishTemplate } from './mqtt-wire.js';
import { seededBytes } from './prng.js';
import { Histogram } from '../lib/histogram.js';
import type { ModulePublisherConfig, PublisherReport } from './protocol.js';

const PACKET_ID_LIMIT = 65_535;
const DRAIN_TIMEOUT_MS = 3000;
const TICK_MS = 1;

interface Lane {
  readonly connection: ModuleConnection;
  readonly template: PublishTemplate;
  readonly sentAtMicros: Float64Array;
  inflight: number;
  nextPacketId: number;
}

export class ModulePublisher {
  private readonly lanes: Lane[];
  private readonly readyPromise: Promise<void>;
  private running = false;
  private recording = false;
  private sentTotal = 0;
  private ackedTotal = 0;
  private sentAtBegin = 0;
  private sentAtEnd = -1;
  private ackedAtBegin = 0;
  private ackedAtEnd = -1;
  private backlogAtBegin = 0;
  private backlogAtEnd = 0;
  private readonly ackLatency = new Histogram();
  private readonly sendLag = new Histogram();
  private heldByWindow = 0;
  private heldAtBegin = 0;
  private heldAtEnd = -1;
  private lastTickMicros = 0;
  private drained: (() => void) | undefined;
  // Open loop: messages scheduled so far, the schedule's origin and the next lane to try.
  private scheduled = 0;
  private startedAtMicros = 0;
  private nextLane = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly config: ModulePublisherConfig) {
    const payload = seededBytes(config.seed, config.payloadBytes);
    this.lanes = readCredentials(config.credentialsFile, config.connections).map(({ clientId, credentials }, index) => {
      payload.writeUInt32BE(index, 8);
      const [deviceId, moduleId] = clientId.split('/');
      const lane: Lane = {
        template: encodePublishTemplate(`devices/${deviceId}/modules/${moduleId}/messages/events/%24.on=out`, 1, payload),
        sentAtMicros: new Float64Array(PACKET_ID_LIMIT + 1),
        inflight: 0,
        nextPacketId: 1,
        connection: new ModuleConnection({ host: config.host, port: config.port, caPem: config.caPem, servername: config.servername, clientId, credentials, ...(config.websocketPath === undefined ? {} : { websocketPath: config.websocketPath }) }, (buf, _start, type, _flags, bodyStart) => {
          if (type === PacketType.Puback) this.onPuback(lane, buf.readUInt16BE(bodyStart));
        }),
      };
      // Refill once per chunk of PUBACKs, not once per PUBACK.
      lane.connection.onData(() => this.refill(lane));
      return lane;
    });
    this.readyPromise = Promise.all(this.lanes.map((l) => l.connection.ready)).then(() => undefined);
  }

  get ready(): Promise<void> {
    return this.readyPromise;
  }

  start(): void {
    this.running = true;
    if (this.config.offeredPerSec === 0) {
      for (const lane of this.lanes) this.refill(lane);
      return;
    }
    this.startedAtMicros = monotonicMicros();
    this.timer = setInterval(() => this.sendDue(), TICK_MS);
  }

  mark(phase: 'begin' | 'end'): void {
    if (phase === 'begin') {
      this.sentAtBegin = this.sentTotal;
      this.ackedAtBegin = this.ackedTotal;
      this.ackLatency.reset();
      this.sendLag.reset();
      this.heldAtBegin = this.heldByWindow;
      this.backlogAtBegin = this.offered() - this.sentTotal;
      this.recording = true;
    } else {
      this.sentAtEnd = this.sentTotal;
      this.ackedAtEnd = this.ackedTotal;
      this.backlogAtEnd = this.offered() - this.sentTotal;
      this.heldAtEnd = this.heldByWindow;
      this.recording = false;
    }
  }

  /** Stops publishing, waits (bounded) for outstanding PUBACKs, disconnects and reports. */
  async stop(): Promise<PublisherReport> {
    this.running = false;
    clearInterval(this.timer);
    if (this.lanes.some((l) => l.inflight > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await Promise.all(this.lanes.map((l) => l.connection.close()));
    return {
      role: 'publisher',
      sentTotal: this.sentTotal,
      sentInWindow: (this.sentAtEnd < 0 ? this.sentTotal : this.sentAtEnd) - this.sentAtBegin,
      ackedInWindow: (this.ackedAtEnd < 0 ? this.ackedTotal : this.ackedAtEnd) - this.ackedAtBegin,
      ackLatency: this.ackLatency.snapshot(),
      ...(this.config.offeredPerSec > 0
        ? { backlogAtBegin: Math.max(0, this.backlogAtBegin), backlogAtEnd: Math.max(0, this.backlogAtEnd), sendLag: this.sendLag.snapshot(), heldByWindow: (this.heldAtEnd < 0 ? this.heldByWindow : this.heldAtEnd) - this.heldAtBegin }
        : {}),
    };
  }

  /** Open loop: messages due by now since start. */
  private offered(): number {
    return this.config.offeredPerSec === 0 ? this.sentTotal : Math.floor(((monotonicMicros() - this.startedAtMicros) * this.config.offeredPerSec) / 1e6);
  }

  private sendDue(): void {
    if (!this.running) return;
    const now = monotonicMicros();
    const due = Math.floor(((now - this.startedAtMicros) * this.config.offeredPerSec) / 1e6);
    const perMessageMicros = 1e6 / this.config.offeredPerSec;
    for (let tried = 0; this.scheduled < due && tried < this.lanes.length; ) {
      const lane = this.lanes[this.nextLane]!;
      if (lane.inflight >= this.config.window) {
        tried += 1;
        this.nextLane = (this.nextLane + 1) % this.lanes.length;
        continue;
      }
      tried = 0;
      const dueMicros = this.startedAtMicros + this.scheduled * perMessageMicros;
      // Due before the last pass, which sent everything it could: it waited for a window slot.
      if (dueMicros < this.lastTickMicros) this.heldByWindow += 1;
      if (this.recording) this.sendLag.record(now - dueMicros);
      this.publish(lane, dueMicros, now);
      this.scheduled += 1;
      this.nextLane = (this.nextLane + 1) % this.lanes.length;
    }
    this.lastTickMicros = now;
  }

  private onPuback(lane: Lane, packetId: number): void {
    lane.inflight -= 1;
    this.ackedTotal += 1;
    if (this.recording) this.ackLatency.record(monotonicMicros() - lane.sentAtMicros[packetId]!);
    if (!this.running && this.lanes.every((l) => l.inflight === 0)) this.drained?.();
  }

  private refill(lane: Lane): void {
    if (!this.running) return;
    if (this.config.offeredPerSec > 0) {
      // A freed slot takes what is already due (the backlog); nothing early.
      this.sendDue();
      return;
    }
    const now = monotonicMicros();
    while (lane.inflight < this.config.window) this.publish(lane, now, now);
  }

  /** `dueMicros` goes into the payload (latency); `nowMicros` starts the PUBACK round trip. */
  private publish(lane: Lane, dueMicros: number, nowMicros: number): void {
    const { bytes, packetIdOffset, timestampOffset } = lane.template;
    // A fresh buffer per PUBLISH: the connection holds it until the turn's write.
    const out = Buffer.allocUnsafe(bytes.length);
    bytes.copy(out);
    const id = lane.nextPacketId;
    lane.nextPacketId = id === PACKET_ID_LIMIT ? 1 : id + 1;
    out.writeUInt16BE(id, packetIdOffset);
    out.writeDoubleBE(dueMicros, timestampOffset);
    lane.sentAtMicros[id] = nowMicros;
    lane.inflight += 1;
    this.sentTotal += 1;
    lane.connection.send(out);
  }
}
