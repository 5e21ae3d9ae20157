import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { AnonymousAuthenticator, sessionOwnerKey } from '../../src/hub/auth/index.js';
import { Broker, MemoryBrokerStore, type BrokerLimits, type BrokerStore } from '../../src/hub/broker/index.js';
import { ConnectionRegistry, MqttAdapter, SocketListener, type MqttLimits } from '../../src/hub/transport/index.js';
import { createLogger } from '../../src/log/index.js';
import { selected as native } from '../native/implementations.js';

export const TEST_LIMITS: MqttLimits = {
  maxPacketBytes: 256 * 1024,
  receiveMaximum: 1024,
  maxInflight: 1024,
  maxConnectionBufferBytes: 1024 * 1024,
  maxKeepAliveSec: 600,
  maxSessionExpirySec: 7 * 86_400,
  topicAliasMaximum: 16,
};

export interface TestBroker {
  readonly port: number;
  readonly url: string;
  readonly broker: Broker;
  readonly adapter: MqttAdapter;
  stop(): Promise<void>;
}

/**
 * A real broker in-process: the Broker core, the MQTT adapter and a plain-TCP SocketListener on
 * an ephemeral loopback port, exactly as the hub wires them, without TLS or a child process.
 */
export async function startTestBroker(options: { limits?: Partial<MqttLimits>; store?: BrokerStore; maxInflight?: number; maxQueued?: number; brokerLimits?: Partial<BrokerLimits>; logLines?: Record<string, unknown>[]; connectTimeoutMs?: number } = {}): Promise<TestBroker> {
  // With logLines, every line at info and above is parsed into it (for tests of what is logged).
  const lines = options.logLines;
  const destination = lines === undefined ? undefined : new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: process.env.TEST_LOG === '1' ? 'debug' : destination !== undefined ? 'info' : 'silent', ...(destination === undefined ? {} : { destination }) });
  const broker = new Broker({
    limits: { maxInflight: options.maxInflight ?? 64, maxQueued: options.maxQueued ?? 1000, ...options.brokerLimits },
    ownerKey: sessionOwnerKey,
    store: options.store ?? new MemoryBrokerStore(),
    logger,
    // As the hub composes it: the addon's topic filter index unless OUTPOST_NATIVE=off (or auto without the addon).
    ...(native.implementation === 'native' ? { createTopicFilterIndex: () => native.createTopicFilterIndex() } : {}),
  });
  await broker.start();
  const adapter = new MqttAdapter({
    broker,
    authenticator: new AnonymousAuthenticator(true, undefined),
    limits: { ...TEST_LIMITS, ...options.limits },
    logger,
  });
  const listener = new SocketListener({
    name: 'mqttPlain',
    host: '127.0.0.1',
    port: 0,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    adapter,
    registry: new ConnectionRegistry(10_000, logger),
    logger,
  });
  const port = await listener.listen();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    adapter,
    async stop() {
      listener.stopAccepting();
      await adapter.shutdown(Date.now() + 2_000);
    },
  };
}

/** A raw TCP client for sending hand-made bytes. */
export function rawClient(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(chunks), closed }));
    socket.once('error', reject);
  });
}

/** Kept here for the broker tests that import it from the harness; one definition, in test/helpers. */
export { eventually } from '../helpers/eventually.js';
