import { join } from 'node:path';
import type { AgentOptions, ModuleEnvironmentProvider } from '../agent/index.js';
import { hostEnvironment, type OutpostConfig } from '../config/index.js';
import { IdentityRegistry, moduleEnvironment } from '../hub/auth/index.js';
import type { Hub } from '../hub/index.js';
import type { Logger } from '../log/index.js';
import { VERSION } from '../version.js';

export function agentOptions(config: OutpostConfig, logger: Logger, hub: Hub | undefined): AgentOptions {
  // Modules reach the hub by its gateway host name; a non-standard MQTT port goes with it (the
  // SDK's MQTT and AMQP transports honour `host:port`).
  const mqttPort = hub?.ports.mqtt;
  const gatewayHostname = mqttPort === undefined || mqttPort === null || mqttPort === 8883 ? config.gatewayHostname : `${config.gatewayHostname}:${mqttPort}`;
  // Each module gets its identity in the registry (created on first deployment) and the
  // workload API variables, so ModuleClient.fromEnvironment works unchanged. The hub's own
  // registry instance picks the new identities up from the file.
  const registry = IdentityRegistry.open({ dataDir: config.dataDir, edgeDeviceId: config.deviceId });
  const workloadUri = `unix://${join(config.dataDir, 'workload.sock')}`;
  const environment: ModuleEnvironmentProvider = {
    environmentFor: async (moduleId) => moduleEnvironment({ record: registry.ensureModule(moduleId), workloadUri, iotHubHostname: config.iotHubHostname, gatewayHostname }),
  };
  const hostEnv = hostEnvironment();
  return { config, logger, environment, gatewayHostname, hostEnv, version: VERSION };
}
