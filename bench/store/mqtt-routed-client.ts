/**
 * Load generator processes for bench/store/mqtt-routed.ts: IoT Hub module clients over MQTT 3.1.1
 * on TLS with SAS tokens, hand-built packets (bench/loadgen/mqtt-wire.ts) so the generator stays
 * cheaper per message than the hub. Roles:
 *   - publisher: N module identities publish QoS 1 module output (`$.on=out`) with a window of
 *     unacknowledged PUBLISHes each, either as fast as PUBACKs allow or at a fixed total rate;
 *   - subscriber: one module subscribes to its inputs, acknowledges every message (PUBACK) and
 *     records end-to-end latency from the timestamp in the payload.
 * Control over IPC: {type:'start'} / {type:'mark'} / {type:'report'}; replies {type:'ready'|'report'}.
 */
import { createHmac } from 'node:crypto';
import tls from 'node:tls';
import { Histogram } from '../lib/histogram.js';
import { encodePuback, encodePublishTemplate, encodeSubscribe, monotonicMicros, PacketScanner, PacketType, varintBytes } from '../loadgen/mqtt-wire.js';

export interface Identity {
  readonly deviceId: string;
  readonly moduleId: string;
  readonly key: string;
}

export interface ClientRoleConfig {
  readonly role: 'publisher' | 'subscriber';
  readonly port: number;
  readonly ca: string;
  readonly hub: string;
  readonly identities: Identity[];
  readonly window: number;
  /** Total messages per second across connections; 0 = as fast as acknowledgements allow. */
  readonly rate: number;
  readonly payloadBytes: number;
}

function sasToken(hub: string, identity: Identity): string {
  const resource = encodeURIComponent(`${hub}/devices/${identity.deviceId}/modules/${identity.moduleId}`);
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const signature = createHmac('sha256', Buffer.from(identity.key, 'base64')).update(`${resource}\n${expiry}`).digest('base64');
  return `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}&se=${expiry}`;
}

function str(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

/** CONNECT (3.1.1, clean session) with user name and password. */
function encodeConnect(clientId: string, username: string, password: string): Buffer {
  const flags = 0x80 | 0x40 | 0x02;
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 60]), str(clientId), str(username), str(password)]);
  const out = Buffer.alloc(1 + varintBytes(body.length) + body.length);
  out[0] = PacketType.Connect << 4;
  let at = 1;
  let v = body.length;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out[at++] = byte;
  } while (v > 0);
  body.copy(out, at);
  return out;
}

interface Conn {
  readonly socket: tls.TLSSocket;
  send(bytes: Buffer): void;
}

function connect(config: ClientRoleConfig, identity: Identity, onPacket: (buf: Buffer, type: number, bodyStart: number, end: number) => void): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: config.port, ca: config.ca, servername: 'localhost' });
    socket.setNoDelay(true);
    let connected = false;
    const scanner = new PacketScanner((buf, _start, type, _flags, bodyStart, end) => {
      if (!connected && type === PacketType.Connack) {
        if (buf[bodyStart + 1] !== 0) return reject(new Error(`CONNACK ${buf[bodyStart + 1]}`));
        connected = true;
        return resolve(conn);
      }
      onPacket(buf, type, bodyStart, end);
    });
    // Writes of one event-loop turn go out together (one TLS record per burst, not per packet).
    let queued: Buffer[] = [];
    const conn: Conn = {
      socket,
      send(bytes) {
        if (queued.push(bytes) === 1) {
          setImmediate(() => {
            const out = queued.length === 1 ? queued[0]! : Buffer.concat(queued);
            queued = [];
            socket.write(out);
          });
        }
      },
    };
    socket.on('data', (chunk: Buffer) => scanner.push(chunk));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const clientId = `${identity.deviceId}/${identity.moduleId}`;
      socket.write(encodeConnect(clientId, `${config.hub}/${clientId}/?api-version=2021-04-12`, sasToken(config.hub, identity)));
    });
  });
}

async function subscriber(config: ClientRoleConfig): Promise<void> {
  const identity = config.identities[0]!;
  const latency = new Histogram();
  let received = 0;
  let subscribed: () => void = () => undefined;
  const conn = await connect(config, identity, (buf, type, bodyStart, end) => {
    if (type === PacketType.Suback) return subscribed();
    if (type !== PacketType.Publish) return;
    const topicLength = buf.readUInt16BE(bodyStart);
    const idAt = bodyStart + 2 + topicLength;
    const payloadAt = idAt + 2;
    if (end - payloadAt >= 8) latency.record(monotonicMicros() - buf.readDoubleBE(payloadAt));
    received++;
    conn.send(encodePuback(buf.readUInt16BE(idAt)));
  });
  await new Promise<void>((resolve) => {
    subscribed = resolve;
    conn.send(encodeSubscribe(1, `devices/${identity.deviceId}/modules/${identity.moduleId}/inputs/#`, 1));
  });
  process.send!({ type: 'ready' });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'mark') {
      latency.reset();
      received = 0;
    } else if (message.type === 'report') {
      process.send!({ type: 'report', received, latency: latency.snapshot() });
    } else if (message.type === 'stop') conn.socket.destroy();
  });
}

async function publisher(config: ClientRoleConfig): Promise<void> {
  let acked = 0;
  let stopped = false;
  const payload = Buffer.alloc(Math.max(16, config.payloadBytes), 0x61);
  const clients = await Promise.all(
    config.identities.map(async (identity) => {
      const template = encodePublishTemplate(`devices/${identity.deviceId}/modules/${identity.moduleId}/messages/events/%24.on=out`, 1, payload);
      const state = { inflight: 0, nextId: 1, conn: undefined as Conn | undefined, send: () => undefined as void };
      state.conn = await connect(config, identity, (_buf, type) => {
        if (type !== PacketType.Puback) return;
        state.inflight--;
        acked++;
        if (config.rate === 0) state.send();
      });
      state.send = () => {
        while (!stopped && state.inflight < config.window) {
          const bytes = Buffer.from(template.bytes);
          bytes.writeUInt16BE(state.nextId, template.packetIdOffset);
          state.nextId = state.nextId === 65_535 ? 1 : state.nextId + 1;
          bytes.writeDoubleBE(monotonicMicros(), template.timestampOffset);
          state.inflight++;
          state.conn!.send(bytes);
          if (config.rate > 0) return;
        }
      };
      return state;
    }),
  );
  process.send!({ type: 'ready' });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'start') {
      if (config.rate === 0) for (const client of clients) client.send();
      else {
        const started = performance.now();
        let sent = 0;
        let next = 0;
        setInterval(() => {
          const due = Math.floor(((performance.now() - started) / 1000) * config.rate);
          // Round-robin over the connections; a full window skips (the hub is not keeping up).
          for (let tries = 0; sent < due && tries < clients.length * 64; tries++) {
            const client = clients[next++ % clients.length]!;
            if (client.inflight < config.window) {
              client.send();
              sent++;
            }
          }
          if (sent < due) sent = due;
        }, 1);
      }
    } else if (message.type === 'mark') acked = 0;
    else if (message.type === 'report') process.send!({ type: 'report', acked });
    else if (message.type === 'stop') {
      stopped = true;
      for (const client of clients) client.conn!.socket.destroy();
      process.exit(0);
    }
  });
}

process.once('message', (config: ClientRoleConfig) => {
  void (config.role === 'subscriber' ? subscriber(config) : publisher(config)).catch((error: unknown) => {
    process.stderr.write(`${config.role}: ${String(error)}\n`);
    process.exit(1);
  });
});
