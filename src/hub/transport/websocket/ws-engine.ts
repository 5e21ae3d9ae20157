import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { WebSocketEngine, WebSocketEngineOptions } from './websocket-engine.js';
import { WebSocketDuplex } from './websocket-duplex.js';

/** The `ws` package (pinned in package.json) on Node's HTTPS server: the default engine. */
export class WsEngine implements WebSocketEngine {
  readonly name = 'ws';
  private readonly server: WebSocketServer;
  /** The subprotocol WebSocketUpgrade chose for a request, for ws's handleProtocols. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();

  constructor(options: WebSocketEngineOptions) {
    this.server = new WebSocketServer({
      noServer: true,
      // Connections belong to their adapters and to the listener's registry, not to ws.
      clientTracking: false,
      // Neither SDK negotiates compression, and inflating is memory per connection.
      perMessageDeflate: false,
      maxPayload: options.maxMessageBytes,
      // Text frames are refused, so their UTF-8 is never looked at.
      skipUTF8Validation: true,
      handleProtocols: (_offered, request) => this.chosen.get(request) ?? false,
    });
    // A malformed handshake (checked by ws): the caller answers it.
    this.server.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) => options.onHandshakeError(error, socket, request));
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, subprotocol: string, onOpen: (stream: Duplex) => void, onProtocolError: (reason: string) => void): void {
    this.chosen.set(request, subprotocol);
    this.server.handleUpgrade(request, socket, head, (ws) => {
      if (ws.protocol !== subprotocol) {
        // handleProtocols answered from the same map, so this is not reached; close rather than hang.
        ws.terminate();
        return;
      }
      onOpen(new WebSocketDuplex(ws, request.socket as TLSSocket, onProtocolError));
    });
  }
}
