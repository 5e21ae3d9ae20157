/**
 * An in-process hub core over MQTT, wired as src/main.ts wires it: the identity registry in a
 * temporary directory with SAS authentication, the Broker, ConnectedClients, twins (memory),
 * direct methods, the MQTT adapter with its IoT Hub services on a plain-TCP listener on an
 * ephemeral port, and the module-input endpoint target the store attaches. Clients are real
 * mqtt.js clients; the tests reach the broker's sessions to show what the core does not touch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { IdentityAuthenticator, IdentityRegistry } from '../../src/hub/auth/index.js';
import { Broker, MemoryBrokerStore } from '../../src/hub/broker/index.js';
import { ConnectedClients } from '../../src/hub/core/index.js';
import { moduleInputTarget, type DeliveryOutcome, type EndpointTarget } from '../../src/hub/endpoints/index.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import { MethodService } from '../../src/hub/methods/index.js';
import type { RouteEndpoint } from '../../src/hub/routing/index.js';
import { ConnectionRegistry, MqttAdapter, SocketListener } from '../../src/hub/transport/index.js';
import { MemoryTwinStore, TwinService } from '../../src/hub/twin/index.js';
import { createLogger } from '../../src/log/index.js';
import { EDGE, HUB, sasToken } from '../auth/auth-test-helpers.js';
import { TEST_LIMITS } from './broker-harness.js';
import { connectClient, type TestClient } from './mqtt-clients.js';

export { EDGE };

export interface CoreHub {
  readonly port: number;
  readonly broker: Broker;
  readonly clients: ConnectedClients;
  readonly target: EndpointTarget;
  /** MQTT credentials of module `moduleId` of the edge device (added to the registry on first use): a fresh SAS token each call. */
  moduleLogin(moduleId: string): { clientId: string; username: string; password: string };
  /** Connects module `moduleId` of the edge device (added to the registry on first use) with a SAS token. */
  connectModule(moduleId: string, options?: IClientOptions): Promise<TestClient>;
  /** Connects device `deviceId` (added on first use) with a SAS token. */
  connectDevice(deviceId: string, options?: IClientOptions): Promise<TestClient>;
  /** Hands `body` to module input `inputName` of `moduleId` as the store would. */
  deliver(moduleId: string, inputName: string, body: string, onSettled: (outcome: DeliveryOutcome) => void): boolean;
  stop(): Promise<void>;
}

export async function startCoreHub(options: { maxInflight?: number } = {}): Promise<CoreHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-core-'));
  const logger = createLogger({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
  const authenticator = new IdentityAuthenticator({ registry, iotHubHostname: HUB, gatewayHostname: 'localhost' });
  const maxInflight = options.maxInflight ?? 64;
  const broker = new Broker({ limits: { maxInflight, maxQueued: 1000 }, store: new MemoryBrokerStore(), logger });
  await broker.start();
  const clients = new ConnectedClients();
  const twinStore = new MemoryTwinStore();
  await twinStore.open();
  const twins = new TwinService({ store: twinStore, logger, hubName: 'myhub' });
  const methods = new MethodService({ clients, inScope: () => true, logger });
  const adapter = new MqttAdapter({
    broker,
    authenticator,
    limits: { ...TEST_LIMITS, maxInflight },
    logger,
    scope: registry,
    identities: registry,
    iotHub: { edgeDeviceId: EDGE, sink: { submit: () => Promise.resolve() }, twins, clients, methods },
  });
  const listener = new SocketListener({ name: 'mqttPlain', host: '127.0.0.1', port: 0, connectTimeoutMs: 5_000, adapter, registry: new ConnectionRegistry(10_000, logger), logger });
  const port = await listener.listen();
  const url = `mqtt://127.0.0.1:${port}`;
  const target = moduleInputTarget({ clients, edgeDeviceId: EDGE });
  const key = (deviceId: string, moduleId?: string) => {
    const record = registry.get(deviceId, moduleId) ?? registry.add(moduleId === undefined ? { deviceId } : { deviceId, moduleId });
    return record.authentication.type === 'sas' ? record.authentication.primaryKey : '';
  };
  const login = (deviceId: string, moduleId?: string) => {
    const id = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    const password = sasToken({ key: key(deviceId, moduleId), deviceId, ...(moduleId === undefined ? {} : { moduleId }), expirySec: Math.floor(Date.now() / 1000) + 3600 });
    return { clientId: id, username: `${HUB}/${id}/?api-version=2021-04-12`, password };
  };
  return {
    port,
    broker,
    clients,
    target,
    moduleLogin: (moduleId) => login(EDGE, moduleId),
    connectModule: (moduleId, clientOptions = {}) => connectClient(url, { protocolVersion: 4, clean: true, ...login(EDGE, moduleId), ...clientOptions }),
    connectDevice: (deviceId, clientOptions = {}) => connectClient(url, { protocolVersion: 4, clean: true, ...login(deviceId), ...clientOptions }),
    deliver(moduleId, inputName, body, onSettled) {
      const endpoint: RouteEndpoint = { kind: 'moduleInput', id: `/modules/${moduleId}/inputs/${inputName}`, moduleId, inputName };
      const message: HubMessage = { source: '/messages/modules/sensor/outputs/out/', body: Buffer.from(body), properties: {}, systemProperties: {}, enqueuedAtMs: Date.now() };
      return target.deliver(endpoint, message, onSettled) === true;
    },
    async stop() {
      listener.stopAccepting();
      await adapter.shutdown(Date.now() + 2_000);
      methods.close();
      await twins.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
