// One IoT Hub module client connection for the routed scenarios: TLS, CONNECT (MQTT 3.1.1, clean
// session) with the module's user name and SAS token, a successful CONNACK, then every later
// packet to the caller's visitor. Packets written in one event-loop turn leave in one TLS write
// (one record run per burst, not one per packet), so the generator stays cheaper per message than
// the hub it measures.
import tls from 'node:tls';
import { closeGracefully } from './connection.js';
import { DISCONNECT, encodeConnect, PacketScanner, PacketType, type ConnectCredentials, type PacketVisitor } from './mqtt-wire.js';

/** CONNACK return code 0 = accepted (MQTT 3.1.1 table 3.1). */
const CONNACK_ACCEPTED = 0;
const CONNACK_TIMEOUT_MS = 10_000;

export interface ModuleConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly servername: string;
  readonly clientId: string;
  readonly credentials: ConnectCredentials;
}

export class ModuleConnection {
  readonly ready: Promise<void>;
  private readonly socket: tls.TLSSocket;
  private queued: Buffer[] = [];

  constructor(options: ModuleConnectionOptions, visit: PacketVisitor) {
    this.socket = tls.connect({ host: options.host, port: options.port, ca: options.caPem, servername: options.servername });
    this.socket.setNoDelay(true);
    let acked = false;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${options.clientId}: no CONNACK within ${CONNACK_TIMEOUT_MS} ms`)), CONNACK_TIMEOUT_MS);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
        this.socket.destroy();
      };
      const scanner = new PacketScanner((buf, start, type, flags, bodyStart, end) => {
        if (acked) return visit(buf, start, type, flags, bodyStart, end);
        if (type !== PacketType.Connack) return fail(new Error(`${options.clientId}: expected CONNACK, got packet type ${type}`));
        const code = buf[bodyStart + 1];
        if (code !== CONNACK_ACCEPTED) return fail(new Error(`${options.clientId}: CONNACK refused with return code ${String(code)}`));
        acked = true;
        clearTimeout(timer);
        resolve();
      });
      this.socket.on('data', (chunk: Buffer) => scanner.push(chunk));
      this.socket.once('error', fail);
      this.socket.once('close', () => fail(new Error(`${options.clientId}: connection closed${acked ? '' : ' before CONNACK'}`)));
      this.socket.once('secureConnect', () => this.socket.write(encodeConnect(options.clientId, 0, options.credentials)));
    });
  }

  /** Queues `bytes`; everything queued in this event-loop turn goes out in one write. */
  send(bytes: Buffer): void {
    if (this.queued.push(bytes) === 1) setImmediate(this.flush);
  }

  /** Registers a listener for the arrival of data (after the visitor has seen its packets). */
  onData(listener: () => void): void {
    this.socket.on('data', listener);
  }

  close(): Promise<void> {
    this.flush();
    return closeGracefully(this.socket, DISCONNECT);
  }

  private readonly flush = (): void => {
    if (this.queued.length === 0) return;
    const out = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    this.queued = [];
    if (!this.socket.destroyed) this.socket.write(out);
  };
}
