// One raw MQTT connection for the load generator: TCP connect, CONNECT, wait for a successful
// CONNACK, then hand every later packet to the caller's visitor.
import { connect, type Socket } from 'node:net';
import { encodeConnect, PacketScanner, PacketType, type ConnectCredentials, type PacketVisitor } from './mqtt-wire.js';

/** CONNACK return code 0 = accepted (MQTT 3.1.1 table 3.1). */
const CONNACK_ACCEPTED = 0;

export interface MqttConnection {
  readonly socket: Socket;
  /** Resolves once CONNACK accepted; rejects on refusal, close or timeout. */
  readonly ready: Promise<void>;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly keepAliveSec: number;
  readonly timeoutMs: number;
  /** User name and password for CONNECT; none when absent. */
  readonly credentials?: ConnectCredentials;
}

export function openConnection(options: ConnectOptions, visit: PacketVisitor): MqttConnection {
  const socket = connect({ host: options.host, port: options.port, noDelay: true });
  let acked = false;
  let settle: ((error?: Error) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = (error) => {
      settle = undefined;
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
  });
  const timer = setTimeout(() => {
    settle?.(new Error(`no CONNACK within ${options.timeoutMs} ms`));
    socket.destroy();
  }, options.timeoutMs);
  const scanner = new PacketScanner((buf, start, type, flags, bodyStart, end) => {
    if (!acked) {
      if (type !== PacketType.Connack) {
        settle?.(new Error(`expected CONNACK, got packet type ${type}`));
        socket.destroy();
        return;
      }
      const code = buf[bodyStart + 1];
      if (code !== CONNACK_ACCEPTED) {
        settle?.(new Error(`CONNACK refused with return code ${String(code)}`));
        socket.destroy();
        return;
      }
      acked = true;
      settle?.();
      return;
    }
    visit(buf, start, type, flags, bodyStart, end);
  });
  socket.on('connect', () => socket.write(encodeConnect(options.clientId, options.keepAliveSec, options.credentials)));
  socket.on('data', (chunk: Buffer) => scanner.push(chunk));
  socket.on('error', (error) => settle?.(error));
  socket.on('close', () => settle?.(new Error('connection closed before CONNACK')));
  return { socket, ready };
}

/** Resolves once `socket` is closed, or after `timeoutMs`. */
export function closeGracefully(socket: Socket, goodbye: Buffer, timeoutMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', () => undefined);
    socket.end(goodbye);
  });
}
