import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The one seam between the hub and the WebSocket server library. Everything IoT-specific — the
 * path, the choice of subprotocol, refusals and their log lines, the ConnectionInfo and the hand-
 * over to a protocol adapter — is WebSocketUpgrade's and the same whatever engine serves; an
 * engine only completes the handshake of an upgrade the hub accepted and turns the connection into
 * the byte stream an adapter reads (WebSocketDuplex's contract: binary messages in order, back-
 * pressure both ways, the TLS peer certificate, framing errors reported and that connection closed).
 *
 * `ws` (WsEngine) is the engine; loadWebSocketEngine says which one serves. An engine for the
 * official uWebSockets.js would need more than this seam (docs/websocket.md: it owns its listening
 * socket, so the HTTPS listener itself would have to be behind the interface), and is not written.
 */
export interface WebSocketEngine {
  /** The library that serves, as the `websocket.server` log line names it. */
  readonly name: string;
  /**
   * Completes the handshake of `request` on `socket` (the HTTPS listener's TLS socket), answering
   * 101 with `subprotocol`, and calls `onOpen` with the connection as a byte stream. A malformed
   * handshake goes to the engine's onHandshakeError instead, with nothing answered yet.
   */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, subprotocol: string, onOpen: (stream: Duplex) => void, onProtocolError: (reason: string) => void): void;
}

export interface WebSocketEngineOptions {
  /** The largest message, whole, a connection may send (0: no limit). */
  readonly maxMessageBytes: number;
  /** A handshake the engine found malformed: the caller answers and closes the socket. */
  readonly onHandshakeError: (error: Error, socket: Duplex, request: IncomingMessage) => void;
}
