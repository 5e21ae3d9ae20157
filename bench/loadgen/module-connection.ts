// One IoT Hub module client connection for the routed scenarios: TLS, CONNECT (MQTT 3.1.1, clean
// session) with the module's user name and SAS token, a successful CONNACK, then every later
// packet to the caller's visitor. Packets written in one event-loop turn leave in one TLS write
// (one record run per burst, not one per packet), so the generator stays cheaper per message than
// the hub it measures. With `websocketPath` the connection is MQTT over WebSocket on the hub's
// HTTPS listener (subprotocol `mqtt`, ws-client.ts): each such write is one binary frame.
import tls from 'node:tls';
import { closeGracefully } from './connection.js';
import { binaryFrameHeader, upgradeRequest, upgradeResponse, WsDeframer } from './ws-client.js';
import { DISCONNECT, encodeConnect, PacketScanner, PacketType, type ConnectCredentials, type PacketVisitor } from './mqtt-wire.js';

/** CONNACK return code 0 = accepted (MQTT 3.1.1 table 3.1). */
const CONNACK_ACCEPTED = 0;
const CONNACK_TIMEOUT_MS = 10_000;
/** HTTP 101 Switching Protocols: the WebSocket upgrade was accepted. */
const SWITCHING_PROTOCOLS = 101;
const MQTT_SUBPROTOCOL = 'mqtt';

export interface ModuleConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly servername: string;
  readonly clientId: string;
  readonly credentials: ConnectCredentials;
  /** MQTT over WebSocket at this path of an HTTPS listener (`/$iothub/websocket`) instead of MQTT over TLS. */
  readonly websocketPath?: string;
}

export class ModuleConnection {
  readonly ready: Promise<void>;
  private readonly socket: tls.TLSSocket;
  private queued: Buffer[] = [];
  private readonly websocket: boolean;

  constructor(options: ModuleConnectionOptions, visit: PacketVisitor) {
    this.websocket = options.websocketPath !== undefined;
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
      const path = options.websocketPath;
      if (path === undefined) {
        this.socket.on('data', (chunk: Buffer) => scanner.push(chunk));
      } else {
        const deframer = new WsDeframer(
          (bytes) => scanner.push(bytes),
          () => fail(new Error(`${options.clientId}: WebSocket closed or pinged by the hub`)),
        );
        let head: Buffer | undefined = Buffer.alloc(0);
        this.socket.on('data', (chunk: Buffer) => {
          if (head === undefined) return deframer.push(chunk);
          head = Buffer.concat([head, chunk]);
          const response = upgradeResponse(head);
          if (response === undefined) return;
          head = undefined;
          if (response.status !== SWITCHING_PROTOCOLS) return fail(new Error(`${options.clientId}: WebSocket upgrade answered HTTP ${response.status}`));
          this.writeOut(encodeConnect(options.clientId, 0, options.credentials));
          if (response.rest.length > 0) deframer.push(response.rest);
        });
      }
      this.socket.once('error', fail);
      this.socket.once('close', () => fail(new Error(`${options.clientId}: connection closed${acked ? '' : ' before CONNACK'}`)));
      this.socket.once('secureConnect', () => {
        if (path === undefined) this.socket.write(encodeConnect(options.clientId, 0, options.credentials));
        else this.socket.write(upgradeRequest(options.servername, path, MQTT_SUBPROTOCOL));
      });
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
    return closeGracefully(this.socket, this.websocket ? Buffer.concat([binaryFrameHeader(DISCONNECT.length), DISCONNECT]) : DISCONNECT);
  }

  /** One write: as it is over TLS, as one binary frame over WebSocket. */
  private writeOut(bytes: Buffer): void {
    if (!this.websocket) {
      this.socket.write(bytes);
      return;
    }
    this.socket.cork();
    this.socket.write(binaryFrameHeader(bytes.length));
    this.socket.write(bytes);
    this.socket.uncork();
  }

  private readonly flush = (): void => {
    if (this.queued.length === 0) return;
    const out = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    this.queued = [];
    if (!this.socket.destroyed) this.writeOut(out);
  };
}
