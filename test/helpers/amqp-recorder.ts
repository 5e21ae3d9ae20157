/**
 * A recording AMQP proxy for differential tests: it terminates TLS with a server certificate the
 * client trusts (the hub's own, from its development CA), opens TLS to the real hub, passes every
 * byte through unchanged both ways, and decodes what the client sends with rhea's own frame and
 * message codecs: the open, every attach (address, settle modes, link properties) and every
 * transfer (the message, and the link it went on). Multi-frame transfers are joined.
 */
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:tls';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

const require = createRequire(import.meta.url);
// `any`: rhea's frame codec has no type declarations.
const frames = require('rhea/lib/frames.js') as any;
const terminus = require('rhea/lib/terminus.js') as any;
const types = require('rhea/lib/types.js') as any;
const rhea = require('rhea') as any;

const PROTOCOL_HEADER_BYTES = 8;
const SASL_PROTOCOL_ID = 3;
/** AMQP 1.0 section 2.7.3: role false is the sender, true the receiver. */
const ROLE_RECEIVER = true;

export interface RecordedAttach {
  readonly name: string;
  readonly role: 'sender' | 'receiver';
  readonly address: string | undefined;
  readonly sndSettleMode: number | undefined;
  readonly rcvSettleMode: number | undefined;
  readonly properties: Record<string, unknown>;
}

export interface RecordedTransfer {
  readonly link: RecordedAttach;
  readonly message: any;
  readonly settled: boolean;
}

export interface RecordedConnection {
  readonly protocolIds: number[];
  open: any;
  readonly attaches: RecordedAttach[];
  readonly transfers: RecordedTransfer[];
}

/** Decodes one direction of an AMQP connection as bytes arrive. */
class FrameDecoder {
  private buffer = Buffer.alloc(0);
  private headerPending = true;
  /** Link by session channel and handle (handles are per session). */
  private readonly links = new Map<string, RecordedAttach>();
  private readonly partial = new Map<string, { chunks: Buffer[]; settled: boolean }>();

  constructor(private readonly record: RecordedConnection) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.headerPending) {
        if (this.buffer.length < PROTOCOL_HEADER_BYTES) return;
        const header = frames.read_header(this.buffer);
        this.record.protocolIds.push(header.protocol_id);
        this.buffer = this.buffer.subarray(PROTOCOL_HEADER_BYTES);
        // After SASL's outcome the AMQP header comes again.
        this.headerPending = false;
        continue;
      }
      if (this.buffer.length < 4) return;
      const size = this.buffer.readUInt32BE(0);
      if (this.buffer.length < size) return;
      const frame = frames.read_frame(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
      this.frame(frame);
    }
  }

  private frame(frame: any): void {
    const performative = frame.performative;
    if (performative === undefined) return;
    // rhea's decoded performatives dispatch to `on_<name>` (its own connection does the same).
    const handlers: Record<string, (f: any) => void> = {
      on_open: (f) => (this.record.open = f.performative),
      on_attach: (f) => this.attach(f.channel, f.performative),
      on_transfer: (f) => this.transfer(f.channel, f.performative, f.payload as Buffer | undefined),
      // The client's next bytes after its sasl-init (once the server's outcome came) are the AMQP header again.
      on_sasl_init: () => {
        if (this.record.protocolIds.at(-1) === SASL_PROTOCOL_ID) this.headerPending = true;
      },
    };
    performative.dispatch(new Proxy(handlers, { get: (target, name: string) => target[name] ?? (() => undefined) }), frame);
  }

  private attach(channel: number, attach: any): void {
    const role = attach.role === ROLE_RECEIVER ? 'receiver' : 'sender';
    const end = terminus.unwrap(role === 'sender' ? attach.target : attach.source);
    const rawProperties = attach.properties;
    const properties = rawProperties === undefined || rawProperties === null ? {} : (types.unwrap(rawProperties) as Record<string, unknown>);
    const recorded: RecordedAttach = {
      name: String(attach.name),
      role,
      address: end?.address,
      sndSettleMode: attach.snd_settle_mode ?? undefined,
      rcvSettleMode: attach.rcv_settle_mode ?? undefined,
      properties: { ...properties },
    };
    this.links.set(`${channel}/${attach.handle}`, recorded);
    this.record.attaches.push(recorded);
  }

  private transfer(channel: number, transfer: any, payload: Buffer | undefined): void {
    const key = `${channel}/${transfer.handle}`;
    const part = this.partial.get(key) ?? { chunks: [], settled: transfer.settled === true };
    if (payload !== undefined) part.chunks.push(payload);
    if (transfer.more === true) {
      this.partial.set(key, part);
      return;
    }
    this.partial.delete(key);
    const link = this.links.get(key);
    if (link === undefined) return;
    this.record.transfers.push({ link, message: rhea.message.decode(Buffer.concat(part.chunks)), settled: part.settled });
  }
}

export class AmqpRecorder {
  readonly connections: RecordedConnection[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<TLSSocket>();
  port = 0;

  /** `credentials`: the certificate the proxy presents; `target`: the real endpoint and the CA its certificate chains to. */
  constructor(
    private readonly credentials: { cert: string; key: string },
    private readonly target: { port: number; ca: string },
  ) {}

  async start(): Promise<number> {
    const server = createServer({ cert: this.credentials.cert, key: this.credentials.key }, (inbound) => {
      const record: RecordedConnection = { protocolIds: [], open: undefined, attaches: [], transfers: [] };
      this.connections.push(record);
      const decoder = new FrameDecoder(record);
      const outbound = tlsConnect({ host: 'localhost', port: this.target.port, ca: this.target.ca, servername: 'localhost' });
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.on('data', (chunk: Buffer) => {
        decoder.push(chunk);
        outbound.write(chunk);
      });
      outbound.on('data', (chunk: Buffer) => inbound.write(chunk));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
