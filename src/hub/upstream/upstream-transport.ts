import type { ConnectionOptions, Container } from 'rhea';
import WebSocket from 'ws';

/**
 * IoT Hub's WebSocket endpoint: the path every Azure SDK opens and AMQP's subprotocol (notes 5,
 * 6.1). MQTT's (`mqtt`) is the one mqtt.js offers by itself.
 */
export const WebSocketWire = {
  Path: '/$iothub/websocket',
  AmqpSubprotocol: 'AMQPWSB10',
} as const;

export interface AmqpTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly ca: string | undefined;
  readonly idleTimeoutMs: number;
  /** AmqpWs: the AMQP connection inside a WebSocket (wss://host:port/$iothub/websocket, AMQPWSB10). */
  readonly webSocket: boolean;
}

/**
 * rhea connection options for the upstream link: TLS straight to the parent's AMQP port, or the
 * same AMQP bytes in binary WebSocket messages over TLS to its HTTPS port (`AmqpWs`), where the
 * parent's HTTPS listener hands the stream to its AMQP adapter (docs/websocket.md). Either way no
 * SASL layer: tokens go on `$cbs`.
 */
export function amqpConnectOptions(container: Container, options: AmqpTransportOptions): ConnectionOptions {
  const { host, port, ca, idleTimeoutMs } = options;
  const common = { hostname: host, reconnect: false, idle_time_out: idleTimeoutMs };
  if (!options.webSocket) {
    return { host, port, transport: 'tls', servername: host, ...(ca === undefined ? {} : { ca }), ...common } as ConnectionOptions;
  }
  const url = `wss://${host}:${port}${WebSocketWire.Path}`;
  const connect = container.websocket_connect(WebSocket as never);
  const wsOptions = { servername: host, ...(ca === undefined ? {} : { ca }), handshakeTimeout: idleTimeoutMs };
  return { ...common, connection_details: connect(url, [WebSocketWire.AmqpSubprotocol], wsOptions) } as unknown as ConnectionOptions;
}

/**
 * The network error behind a connection failure: rhea passes a WebSocket's error event (whose
 * `error` is the socket's), and TLS or TCP errors as they are.
 */
export function socketError(error: unknown): unknown {
  const inner = (error as { error?: unknown } | undefined)?.error;
  return inner instanceof Error ? inner : error;
}
