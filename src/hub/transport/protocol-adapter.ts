import type { Duplex } from 'node:stream';

/** What a listener knows about a connection it hands to a protocol adapter. */
export interface ConnectionInfo {
  /** Listener name: "mqtt", "mqttPlain", "amqp", and over WebSocket "mqttWs", "amqpWs". */
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * TLS underneath. The stream then answers `getPeerCertificate(detailed)` as a TLSSocket does:
   * it is the TLSSocket on 8883 and 5671, and a WebSocketDuplex on the HTTPS listener.
   */
  readonly secure: boolean;
  /** Deadline for the first protocol bytes (MQTT CONNECT, AMQP header), in milliseconds. */
  readonly connectTimeoutMs: number;
}

/**
 * The seam between listeners and protocols. A listener accepts the byte stream (TLS already
 * negotiated) and hands it over; the adapter owns it from then on. MQTT, AMQP and their WebSocket
 * variants (src/hub/transport/websocket) all plug in here, so the listener layer stays
 * protocol-agnostic.
 */
export interface ProtocolAdapter {
  readonly protocol: string;
  handle(stream: Duplex, info: ConnectionInfo): void;
  /**
   * Graceful shutdown: stop taking new work, finish or persist what is in flight, tell clients
   * (for example an MQTT 5 DISCONNECT with "server shutting down") and close. Resolves when every
   * connection is closed or the deadline has passed; the listener destroys what is left.
   */
  shutdown(deadlineMs: number): Promise<void>;
}
