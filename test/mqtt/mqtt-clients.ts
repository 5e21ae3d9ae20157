import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';

export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly packet: IPublishPacket;
}

export interface TestClient {
  readonly client: MqttClient;
  readonly messages: Received[];
  readonly connack: IConnackPacket;
  /** Resolves once at least n messages have arrived (rejects after the timeout). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  end(force?: boolean): Promise<void>;
}

/** Connects an mqtt.js client (no automatic reconnect) and records every message it receives. */
export async function connectClient(url: string, options: IClientOptions = {}): Promise<TestClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), packet });
    for (const wake of waiters) wake();
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', (packet) => resolve(packet));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  client.on('error', () => undefined);
  return {
    client,
    messages,
    connack,
    waitFor(n, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(messages.slice(0, n));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${n} messages, got ${messages.length}: ${JSON.stringify(messages.map((m) => m.topic))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    end(force = false) {
      return new Promise((resolve) => client.end(force, {}, () => resolve()));
    },
  };
}

/** Waits for the client's 'close' event (the server closed the connection). */
export function closedBy(client: MqttClient, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected && client.disconnected) return resolve();
    const timer = setTimeout(() => reject(new Error('client still connected')), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
