import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../../log/index.js';
import { RateLimitedLog } from '../../../log/index.js';
import { refuseUpgrade, UpgradeStatus } from '../https/upgrade-refusal.js';
import type { ConnectionInfo } from '../protocol-adapter.js';
import { forgetPeerName } from '../socket-listener.js';
import { loadWebSocketEngine } from './load-websocket-engine.js';
import type { WebSocketEngine } from './websocket-engine.js';

/** The path the Azure IoT SDKs' WebSocket transports open (azure-iot-sdk-wire.md, transports). */
export const WEBSOCKET_PATH = '/$iothub/websocket';

/** Sec-WebSocket-Protocol values of IoT Hub's protocols (notes 5 and 6.1). */
export const Subprotocol = {
  Mqtt: 'mqtt',
  Amqp: 'AMQPWSB10',
} as const;

const KNOWN_SUBPROTOCOLS: ReadonlySet<string> = new Set(Object.values(Subprotocol));

/**
 * What a protocol must offer to be served over WebSocket: take a byte stream and own it, as its
 * TLS listener hands it over (ProtocolAdapter.handle; shutdown stays with the hub).
 */
export interface StreamProtocolAdapter {
  handle(stream: Duplex, info: ConnectionInfo): void;
}

export interface WebSocketProtocol {
  readonly adapter: StreamProtocolAdapter;
  /** ConnectionInfo.listener for its connections ("mqttWs", "amqpWs"), in logs and to the authenticator. */
  readonly listener: string;
  /** Deadline for the protocol's first bytes after the upgrade (the protocol's connectTimeout). */
  readonly connectTimeoutMs: number;
}

export interface WebSocketUpgradeOptions {
  /** Subprotocol → protocol served; a known subprotocol left out is answered 501. */
  readonly protocols: ReadonlyMap<string, WebSocketProtocol>;
  /** ws maxPayload: the largest message, whole, a connection may send (0: no limit). */
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  /** Where an operator's uWebSockets.js is looked for (loadWebSocketEngine; tests). */
  readonly resolveEngineFrom?: string;
}

/**
 * The WebSocket upgrade of the HTTPS listener: Azure's edge hub serves MQTT and AMQP over
 * WebSocket at /$iothub/websocket, told apart by Sec-WebSocket-Protocol. An upgrade is accepted
 * only for that path and a subprotocol that is served; anything else gets an HTTP error status and
 * a rate-limited `websocket.upgrade_refused` line. An accepted WebSocket becomes a byte stream
 * (the engine's: WebSocketEngine) and goes to its protocol's adapter with the ConnectionInfo a TLS
 * listener gives.
 */
export class WebSocketUpgrade {
  private readonly engine: WebSocketEngine;
  private readonly refusals: RateLimitedLog;

  constructor(private readonly options: WebSocketUpgradeOptions) {
    this.refusals = new RateLimitedLog(options.logger);
    this.engine = loadWebSocketEngine({
      maxMessageBytes: options.maxMessageBytes,
      logger: options.logger,
      ...(options.resolveEngineFrom === undefined ? {} : { resolveFrom: options.resolveEngineFrom }),
      // A malformed handshake (checked by the engine): logged here, answered 400 in the same JSON shape.
      onHandshakeError: (error, socket, request) => this.refuse(socket, request, UpgradeStatus.BadRequest, 'OUTPOST_WEBSOCKET_HANDSHAKE_INVALID', error.message, {}),
    });
  }

  /** The library serving WebSocket ("ws"). */
  get engineName(): string {
    return this.engine.name;
  }

  /** The HTTPS listener's upgrade handler (HttpsListener.upgrade). */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (request.url ?? '/').split('?', 1)[0]!;
    if (path !== WEBSOCKET_PATH) {
      // The path, not the query: a query may carry a token.
      const shown = path.slice(0, 200);
      this.refuse(socket, request, UpgradeStatus.NotFound, 'OUTPOST_WEBSOCKET_PATH_NOT_FOUND', `WebSocket is served at ${WEBSOCKET_PATH}, not at ${shown}`, { path: shown });
      return;
    }
    const offered = parseSubprotocols(request.headers['sec-websocket-protocol']);
    const subprotocol = this.choose(offered);
    if (subprotocol === undefined) {
      const known = offered.find((p) => KNOWN_SUBPROTOCOLS.has(p));
      const shown = offered.slice(0, 8).map((p) => p.slice(0, 40));
      if (known !== undefined) {
        this.refuse(socket, request, UpgradeStatus.NotImplemented, 'OUTPOST_WEBSOCKET_PROTOCOL_UNAVAILABLE', `this hub does not serve ${known} over WebSocket`, { subprotocols: shown });
      } else {
        this.refuse(socket, request, UpgradeStatus.BadRequest, 'OUTPOST_WEBSOCKET_SUBPROTOCOL_UNSUPPORTED', `no supported subprotocol offered (Sec-WebSocket-Protocol: ${Subprotocol.Mqtt} or ${Subprotocol.Amqp})`, { subprotocols: shown });
      }
      return;
    }
    const protocol = this.options.protocols.get(subprotocol)!;
    this.engine.upgrade(request, socket, head, subprotocol, (stream) => this.accept(stream, protocol, request), this.framingErrorHandler(protocol, request.socket.remoteAddress ?? ''));
  };

  /**
   * The stream keeps this handler for the connection's life, so it is made outside handleUpgrade:
   * a closure made there would keep the upgrade request (its headers and raw headers, about 1.3 KB measured)
   * alive with its scope.
   */
  private framingErrorHandler(protocol: WebSocketProtocol, remoteAddress: string): (reason: string) => void {
    return (reason) => this.framingError(protocol, remoteAddress, reason);
  }

  /** The first offered subprotocol this hub serves. */
  private choose(offered: readonly string[]): string | undefined {
    return offered.find((p) => this.options.protocols.has(p));
  }

  private accept(stream: Duplex, protocol: WebSocketProtocol, request: IncomingMessage): void {
    const socket = request.socket as TLSSocket;
    const info: ConnectionInfo = {
      listener: protocol.listener,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      secure: true,
      connectTimeoutMs: protocol.connectTimeoutMs,
    };
    forgetPeerName(socket);
    protocol.adapter.handle(stream, info);
  }

  private framingError(protocol: WebSocketProtocol, remoteAddress: string, reason: string): void {
    this.refusals.info(`frame:${reason}`, { event: 'websocket.protocol_error', code: 'OUTPOST_WEBSOCKET_PROTOCOL_ERROR', listener: protocol.listener, remoteAddress, reason }, 'WebSocket framing error: connection closed');
  }

  private refuse(socket: Duplex, request: IncomingMessage, status: number, code: string, message: string, fields: Record<string, unknown>): void {
    this.refusals.info(`upgrade:${code}`, { event: 'websocket.upgrade_refused', code, status, remoteAddress: request.socket.remoteAddress, ...fields }, 'WebSocket upgrade refused');
    refuseUpgrade(socket, status, code, message);
  }
}

/** Sec-WebSocket-Protocol: comma-separated tokens, possibly over several header lines. */
function parseSubprotocols(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  return text.split(',').map((p) => p.trim()).filter((p) => p !== '');
}
