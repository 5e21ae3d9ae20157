import type { OutpostConfig } from './config/index.js';
import { Agent } from './agent/index.js';
import { Hub, type HubPorts } from './hub/index.js';
import type { Logger } from './log/index.js';
import { VERSION } from './version.js';

/**
 * The composition root: the only place that wires components together. The CLI decides which
 * components run (`run`: both, `hub`, `agent`), this module starts them in dependency order and
 * stops them in reverse.
 */

export interface RuntimeOptions {
  readonly config: OutpostConfig;
  readonly logger: Logger;
  readonly hub: boolean;
  readonly agent: boolean;
}

export class Runtime {
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: RuntimeOptions,
    readonly hub: Hub | undefined,
    readonly agent: Agent | undefined,
  ) {}

  static async start(options: RuntimeOptions): Promise<Runtime> {
    const { config, logger } = options;
    const hub = options.hub ? await Hub.start({ config, logger: logger.child({ component: 'hub' }), version: VERSION }) : undefined;
    let agent: Agent | undefined;
    try {
      agent = options.agent ? await Agent.start({ config, logger: logger.child({ component: 'agent' }) }) : undefined;
    } catch (error) {
      await hub?.stop(Date.now() + config.shutdownTimeout);
      throw error;
    }
    return new Runtime(options, hub, agent);
  }

  get ports(): HubPorts | undefined {
    return this.hub?.ports;
  }

  /** Idempotent graceful stop, bounded by config.shutdownTimeout. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    const { config, logger } = this.options;
    const deadlineMs = Date.now() + config.shutdownTimeout;
    logger.info({ event: 'runtime.stopping', reason, shutdownTimeoutMs: config.shutdownTimeout }, 'shutting down');
    await this.agent?.stop();
    await this.hub?.stop(deadlineMs);
    logger.info({ event: 'runtime.stopped', reason }, 'stopped');
  }
}
