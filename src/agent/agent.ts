import { fileURLToPath } from 'node:url';
import type { OutpostConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { manifestError, readManifest, type DeploymentManifest } from './manifest/index.js';

/** The manifest `npm start` runs with when none is configured: the hub alone, routing upstream. */
export const DEFAULT_DEPLOYMENT_FILE = fileURLToPath(new URL('../../../deployment/default.json', import.meta.url));

export function deploymentFileOf(config: OutpostConfig): string {
  return config.agent.deployment ?? DEFAULT_DEPLOYMENT_FILE;
}

export interface AgentOptions {
  readonly config: OutpostConfig;
  readonly logger: Logger;
}

/**
 * The edge agent. This stage loads and checks the deployment manifest and reports what it would
 * run; the planner, the module runtimes (process, docker) and restart supervision plug in here.
 */
export class Agent {
  private constructor(
    private readonly logger: Logger,
    readonly manifest: DeploymentManifest,
  ) {}

  static async start(options: AgentOptions): Promise<Agent> {
    const file = deploymentFileOf(options.config);
    const result = readManifest(file);
    if (!result.ok) throw manifestError(file, result.problems);
    const agent = new Agent(options.logger, result.manifest);
    options.logger.info(
      { event: 'agent.ready', deployment: file, runtime: options.config.agent.runtime, modules: result.manifest.moduleIds },
      'agent ready',
    );
    return agent;
  }

  async stop(): Promise<void> {
    this.logger.info({ event: 'agent.stopped' }, 'agent stopped');
  }
}
