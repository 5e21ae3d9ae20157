import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';

/** The HTTP answer to a refused upgrade: status and the JSON body. */
export interface UpgradeRefusal {
  readonly status: number;
  readonly body: { error?: string; message?: string };
}

/**
 * Opens a WebSocket with the ws client (real TLS) and resolves with it once upgraded, or with the
 * HTTP answer when the hub refuses the upgrade.
 */
export function openWebSocket(url: string, subprotocols: string[], ca: string): Promise<WebSocket | UpgradeRefusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, subprotocols, { ca });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as UpgradeRefusal['body'] }));
      response.on('error', reject);
    });
    ws.once('error', reject);
  });
}

/**
 * MQTT by hand over a ws WebSocket: packets generated and parsed with mqtt-packet, for what a
 * client library hides (stop reading on purpose, send bytes that are not a valid frame).
 */
export class RawWsMqttClient {
  readonly packets: Packet[] = [];
  /** Resolves with the close code when the WebSocket closes. */
  readonly closed: Promise<number>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      this.packets.push(packet);
      for (const wake of this.waiters) wake();
    });
    ws.on('message', (data: Buffer) => parser.parse(data));
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
  }

  send(packet: Packet): void {
    this.ws.send(mqttPacket.generate(packet, { protocolVersion: 4 }));
  }

  /** Resolves with the first received packet (past or future) for which `accept` holds. */
  waitFor(accept: (packet: Packet) => boolean, timeoutMs = 20_000): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.packets.find(accept);
        if (found === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`no matching packet within ${timeoutMs} ms (got ${this.packets.map((p) => p.cmd).join(',')})`));
      }, timeoutMs);
      if (!check()) this.waiters.add(wake);
    });
  }
}
