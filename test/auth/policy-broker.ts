/**
 * An in-process broker with the real authentication and authorization chain, for policy tests:
 * the identity registry in a temporary directory, IdentityAuthenticator (SAS), the Authorizer
 * and BrokerPolicy, the Broker core (in memory, or RocksDB for restarts) and the MQTT adapter on
 * a plain-TCP listener on an ephemeral port, wired as src/main.ts wires them. Clients are real
 * mqtt.js clients with SAS tokens signed by auth-test-helpers.
 */
import { Writable } from 'node:stream';
import { Authorizer, BrokerPolicy, IdentityAuthenticator, IdentityRegistry, type AuthFailureLimiter } from '../../src/hub/auth/index.js';
import { Broker, MemoryBrokerStore, RocksBrokerStore } from '../../src/hub/broker/index.js';
import { ConnectionRegistry, MqttAdapter, SocketListener } from '../../src/hub/transport/index.js';
import { createLogger } from '../../src/log/index.js';
import { connectClient, type TestClient } from '../mqtt/mqtt-clients.js';
import { TEST_LIMITS } from '../mqtt/broker-harness.js';
import { EDGE, HUB, sasToken } from './auth-test-helpers.js';

export interface PolicyBroker {
  readonly url: string;
  readonly policy: BrokerPolicy;
  readonly adapter: MqttAdapter;
  readonly broker: Broker;
  /** Every log line, parsed. */
  readonly lines: Record<string, unknown>[];
  /** MQTT credentials of device `deviceId` (added to the registry on first use): a fresh SAS token each call. */
  credentials(deviceId: string): { clientId: string; username: string; password: string };
  /** Connects device `deviceId` (added to the registry on first use) with a SAS token. */
  connect(deviceId: string, options?: { protocolVersion?: 4 | 5; clean?: boolean; sessionExpiryInterval?: number }): Promise<TestClient>;
  stop(): Promise<void>;
}

export async function startPolicyBroker(options: { dataDir: string; policy: unknown; persistentDir?: string; limiter?: AuthFailureLimiter }): Promise<PolicyBroker> {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const registry = IdentityRegistry.open({ dataDir: options.dataDir, edgeDeviceId: EDGE });
  const authenticator = new IdentityAuthenticator({ registry, iotHubHostname: HUB, gatewayHostname: 'localhost', ...(options.limiter === undefined ? {} : { limiter: options.limiter }) });
  const authorizer = new Authorizer({ iotHubHostname: HUB, thisDeviceId: EDGE, policy: options.policy });
  const policy = new BrokerPolicy(authorizer, logger, options.policy);
  const broker = new Broker({
    limits: { maxInflight: 64, maxQueued: 1000 },
    store: options.persistentDir === undefined ? new MemoryBrokerStore() : new RocksBrokerStore(options.persistentDir, logger),
    logger,
  });
  await broker.start();
  const adapter = new MqttAdapter({ broker, authenticator, authorizer, limits: TEST_LIMITS, logger });
  policy.enforce(adapter);
  const listener = new SocketListener({ name: 'mqttPlain', host: '127.0.0.1', port: 0, connectTimeoutMs: 5_000, adapter, registry: new ConnectionRegistry(10_000, logger), logger });
  const port = await listener.listen();
  const url = `mqtt://127.0.0.1:${port}`;
  const credentials = (deviceId: string) => {
    const record = registry.get(deviceId) ?? registry.add({ deviceId });
    const key = record.authentication.type === 'sas' ? record.authentication.primaryKey : '';
    return { clientId: deviceId, username: `${HUB}/${deviceId}/?api-version=2021-04-12`, password: sasToken({ key, deviceId, expirySec: Math.floor(Date.now() / 1000) + 3600 }) };
  };
  return {
    url,
    policy,
    adapter,
    broker,
    lines,
    credentials,
    async connect(deviceId, connectOptions = {}) {
      const v5 = connectOptions.protocolVersion === 5;
      return connectClient(url, {
        ...credentials(deviceId),
        protocolVersion: connectOptions.protocolVersion ?? 4,
        clean: connectOptions.clean ?? true,
        ...(v5 && connectOptions.sessionExpiryInterval !== undefined ? { properties: { sessionExpiryInterval: connectOptions.sessionExpiryInterval } } : {}),
      });
    },
    async stop() {
      listener.stopAccepting();
      await adapter.shutdown(Date.now() + 2_000);
    },
  };
}
