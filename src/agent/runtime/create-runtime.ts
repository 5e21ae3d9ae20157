import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { OutpostConfig } from '../../config/index.js';
import type { Logger } from '../../log/index.js';
import type { ModuleRuntime } from './module-runtime.js';
import { ProcessRuntime } from './process/process-runtime.js';

/**
 * The module runtime agent.runtime names. The container runtime loads only when chosen: its Docker
 * Engine client (dockerode, with ssh2 and gRPC behind it) costs about 7.5 MiB of heap and 20 MiB
 * of RSS in a process that runs no container (docs/benchmarks.md, "Where the idle memory goes").
 */
export async function createRuntime(config: OutpostConfig, logger: Logger, hostEnv: Readonly<Record<string, string>>): Promise<ModuleRuntime> {
  if (config.agent.runtime === 'docker') {
    const { DockerRuntime } = await import('./docker/docker-runtime.js');
    return new DockerRuntime({ socketPath: config.agent.dockerSocket, agentId: dockerAgentId(config), logger: logger.child({ runtime: 'docker' }) });
  }
  return new ProcessRuntime({
    dir: join(config.dataDir, 'agent', 'processes'),
    logger: logger.child({ runtime: 'process' }),
    baseEnv: hostEnv,
    logMaxBytes: config.agent.processLogMaxSize,
  });
}

/**
 * The io.outpost.agent label value: device id plus a hash of the data directory, stable across
 * restarts of this installation and distinct for two installations sharing one engine.
 */
export function dockerAgentId(config: OutpostConfig): string {
  return `${config.deviceId}.${createHash('sha256').update(resolve(config.dataDir)).digest('hex').slice(0, 12)}`;
}
