import { Duplex } from 'node:stream';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';

/** WebSocket close codes used here (RFC 6455 section 7.4.1). */
export const CloseCode = {
  Normal: 1000,
  UnsupportedData: 1003,
} as const;

/** How long a closing WebSocket may wait for the peer's close frame before its socket is cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * One WebSocket as the byte stream a protocol adapter reads and writes, exactly like the TLS
 * socket of 8883 or 5671: binary messages in, in order, as chunks; writes out as binary
 * messages. MQTT and AMQP over WebSocket carry a byte stream that may be cut anywhere (MQTT 5.0
 * section 6: packets need not align with frames), so framing stays the adapter's.
 *
 * Back-pressure both ways, so one slow peer cannot grow memory without bound:
 * - in: when the adapter stops taking data (push() returns false, or it paused the stream) the
 *   WebSocket is paused, which pauses its socket; reading resumes when the adapter reads again.
 *   A message is held whole before it is pushed, bounded by https.maxWebSocketMessageSize.
 * - out: a write completes only when its bytes are taken by the TLS socket, so `writableLength`
 *   counts what the peer has not taken (the MQTT adapter's congestion check reads it). Writes made
 *   while one is in flight leave together as one message (_writev): one frame and one TLS record
 *   run for a burst instead of one per packet.
 *
 * The client certificate of the TLS connection is answered by getPeerCertificate, as a TLSSocket
 * does, so adapters that read it from their stream authenticate X.509 clients unchanged.
 */
export class WebSocketDuplex extends Duplex {
  private closing = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly tlsSocket: TLSSocket,
    /** Called once when the peer broke the WebSocket framing; the connection is then closed. */
    private readonly onProtocolError: (reason: string) => void,
  ) {
    super({ allowHalfOpen: false });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.destroyed) return;
      if (!isBinary) {
        // Both protocols are binary; a text frame is a client bug (MQTT-6.0.0-1: close the connection).
        this.onProtocolError('text frame');
        ws.close(CloseCode.UnsupportedData, 'binary frames only');
        this.destroy();
        return;
      }
      if (!this.push(data)) ws.pause();
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has already sent its close frame (1002, or 1009 for an oversize message) and closes.
      this.onProtocolError(error.code ?? error.message);
      this.destroy();
    });
    ws.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
  }

  /** The TLS client certificate, as TLSSocket.getPeerCertificate answers it. */
  getPeerCertificate(detailed: true): DetailedPeerCertificate;
  getPeerCertificate(detailed?: boolean): PeerCertificate | DetailedPeerCertificate;
  getPeerCertificate(detailed?: boolean): PeerCertificate | DetailedPeerCertificate {
    return this.tlsSocket.getPeerCertificate(detailed === true);
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private send(bytes: Buffer, callback: (error?: Error | null) => void): void {
    // ws calls back once the socket has taken the frame, or with an error when it is closed.
    this.ws.send(bytes, { binary: true }, (error) => callback(error ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.closeWebSocket();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeWebSocket();
    callback(error);
  }

  /** A close frame after what was written, then the socket; a peer that never answers is cut. */
  private closeWebSocket(): void {
    const { ws } = this;
    if (this.closing || ws.readyState === ws.CLOSED) return;
    this.closing = true;
    if (ws.readyState === ws.OPEN) ws.close(CloseCode.Normal);
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    ws.once('close', () => clearTimeout(timer));
  }
}
