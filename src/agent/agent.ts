import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutpostConfig } from '../config/index.js';
import { OutpostError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { DeploymentSource, manifestError, type Deployment, type DeploymentManifest, type ManifestProblem, type SourcedDeployment } from './manifest/index.js';
import { ControlServer } from './run/control-server.js';
import { Reconciler, type ReportListener } from './run/reconciler.js';
import type { CommandObserver } from './run/plan-runner.js';
import type { ReportedProperties } from './run/reported-properties.js';
import { createRuntime } from './runtime/create-runtime.js';
import { LocalModuleEnvironment, type ModuleEnvironmentProvider } from './runtime/module-environment.js';
import type { ModuleRuntime } from './runtime/module-runtime.js';

/** The manifest `npm start` runs with when none is configured: sample modules as processes. */
export const DEFAULT_DEPLOYMENT_FILE = fileURLToPath(new URL('../../../deployment/default.json', import.meta.url));

export function deploymentFileOf(config: OutpostConfig): string {
  return config.agent.deployment ?? DEFAULT_DEPLOYMENT_FILE;
}

/** <dataDir>/agent: state, reported properties, the control socket, process modules' files. */
export function agentDirOf(config: OutpostConfig): string {
  return join(config.dataDir, 'agent');
}

/**
 * A process module's log file (the process runtime's record store names it so): read directly by
 * `outpost logs` and `outpost support-bundle` when no agent serves it (stopped, or not running).
 */
export function processLogFileOf(config: OutpostConfig, moduleId: string): string {
  return join(agentDirOf(config), 'processes', `${encodeURIComponent(moduleId)}.log`);
}

export function controlSocketOf(config: OutpostConfig): string {
  return join(agentDirOf(config), 'agent.sock');
}

export interface AgentOptions {
  readonly config: OutpostConfig;
  readonly logger: Logger;
  /** Module identities; default: IOTEDGE_* from configuration (LocalModuleEnvironment). */
  readonly environment?: ModuleEnvironmentProvider;
  /** How modules reach the hub (`host[:port]`); default config.gatewayHostname. */
  readonly gatewayHostname?: string;
  /** Host variables process modules inherit (PATH, HOME, …); the composition root picks them. */
  readonly hostEnv?: Readonly<Record<string, string>>;
  /** A module runtime other than the configured one (tests, embedding). */
  readonly runtime?: ModuleRuntime;
  readonly version?: string;
  /** Metrics of the commands the agent runs (src/metrics: edgeAgent_module_start_total, …). */
  readonly commandObserver?: CommandObserver;
}

export type DeploymentListener = (deployment: Deployment) => void;

/**
 * The edge agent: reads the deployment (a watched file, or `outpost deploy`), reconciles the
 * module runtime against it (planner → runner), supervises restarts, reports status, and serves
 * the CLI on its control socket. See src/agent/README.md.
 */
export class Agent {
  private readonly deploymentListeners: DeploymentListener[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: AgentOptions,
    readonly runtime: ModuleRuntime,
    private readonly source: DeploymentSource,
    private readonly reconciler: Reconciler,
    private readonly control: ControlServer,
  ) {}

  static async start(options: AgentOptions): Promise<Agent> {
    const { config, logger } = options;
    const stateDir = agentDirOf(config);
    const runtime = options.runtime ?? createRuntime(config, logger, options.hostEnv ?? {});
    const source = new DeploymentSource({ configuredFile: deploymentFileOf(config), stateDir, runtime: runtime.kind, logger, searchPath: options.hostEnv?.PATH ?? '' });
    const initial = source.load();
    // A manifest that is invalid at start-up stops the start (exit 2), as `outpost check` would
    // say; once running, an invalid manifest is reported and the last valid one stays applied.
    if (!initial.result.ok) throw manifestError(initial.file, initial.result.problems, initial.result.code);
    // The control socket comes first: it fails when another agent runs on this data directory,
    // and that must be known before adopting (and maybe stopping) that agent's modules.
    let agent: Agent | undefined;
    const ready = (): Agent => {
      if (agent === undefined) throw new OutpostError('OUTPOST_AGENT_NOT_RUNNING', 'the agent is still starting');
      return agent;
    };
    const control = await ControlServer.start(
      controlSocketOf(config),
      {
        status: () => agent?.reported,
        logs: (id, logOptions) => ready().runtime.logs(id, logOptions),
        restart: (id) => ready().restartModule(id),
        deploy: (file, text) => ready().deploy(file, text),
      },
      logger,
    );
    try {
      await runtime.open();
    } catch (error) {
      await control.close();
      throw error;
    }
    const environment =
      options.environment ??
      new LocalModuleEnvironment({
        deviceId: config.deviceId,
        iotHubHostname: config.iotHubHostname,
        gatewayHostname: options.gatewayHostname ?? config.gatewayHostname,
        workloadUri: `unix://${join(config.dataDir, 'workload.sock')}`,
      });
    const reconciler = new Reconciler({
      runtime,
      environment,
      restart: {
        backoffBaseMs: config.agent.restartBackoffBase,
        backoffMaxMs: config.agent.restartBackoffMax,
        maxRestartCount: config.agent.maxRestartCount,
        healthyResetMs: config.agent.healthyResetAfter,
      },
      stopTimeoutMs: config.agent.stopTimeout,
      reconcileIntervalMs: config.agent.reconcileInterval,
      stateDir,
      version: options.version ?? '0.0.0',
      logger,
      observer: options.commandObserver,
    });
    agent = new Agent(options, runtime, source, reconciler, control);
    agent.apply(initial);
    const started = agent;
    source.watch((sourced) => started.apply(sourced));
    logger.info(
      { event: 'agent.ready', deployment: initial.file, origin: initial.origin, runtime: runtime.kind, modules: initial.result.deployment.modules.map((m) => m.id), controlSocket: controlSocketOf(config) },
      'agent ready',
    );
    return agent;
  }

  /** The deployment being applied (the last valid one). */
  get deployment(): Deployment | undefined {
    return this.reconciler.currentDeployment;
  }

  get manifest(): DeploymentManifest | undefined {
    return this.deployment?.manifest;
  }

  /** The $edgeAgent reported properties after the last reconcile. */
  get reported(): ReportedProperties | undefined {
    return this.reconciler.current;
  }

  /** Each report and its JSON merge patch (for the upstream twin, once there is an upstream). */
  onReport(listener: ReportListener): void {
    this.reconciler.onReport(listener);
  }

  /** Each new valid deployment (for the hub: $edgeHub routes and store-and-forward settings). */
  onDeployment(listener: DeploymentListener): void {
    this.deploymentListeners.push(listener);
  }

  /** Resolves once no reconcile is running or queued. */
  settled(): Promise<void> {
    return this.reconciler.settled();
  }

  restartModule(id: string): Promise<void> {
    return this.reconciler.restartModule(id);
  }

  /** `outpost deploy`: validate, apply when valid, answer once the plan has run. */
  async deploy(file: string, text: string): Promise<{ statusCode: number; problems?: readonly ManifestProblem[] }> {
    const sourced = this.source.deploy(file, text);
    this.apply(sourced);
    await this.reconciler.settled();
    return sourced.result.ok ? { statusCode: 200 } : { statusCode: sourced.result.code, problems: sourced.result.problems };
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { config, logger } = this.options;
    await this.control.close();
    this.source.close();
    const policy = config.agent.onShutdown;
    const stopModules = policy === 'stop-modules' || (policy === 'auto' && this.runtime.kind === 'process');
    await this.reconciler.close(stopModules);
    await this.runtime.close();
    logger.info({ event: 'agent.stopped', modulesStopped: stopModules }, 'agent stopped');
  }

  private apply(sourced: SourcedDeployment): void {
    const { logger } = this.options;
    if (sourced.result.ok) {
      const deployment = sourced.result.deployment;
      logger.info({ event: 'agent.deployment_applied', file: sourced.file, origin: sourced.origin, modules: deployment.modules.map((m) => m.id) }, 'deployment applied');
      this.reconciler.setDeployment(deployment, sourced.contentHash);
      for (const listener of this.deploymentListeners) listener(deployment);
      return;
    }
    const { code, problems } = sourced.result;
    const error = manifestError(sourced.file, problems, code);
    logger.error({ event: 'agent.deployment_rejected', code: error.code, statusCode: code, file: sourced.file, problems }, 'deployment rejected; the last valid deployment stays applied');
    this.reconciler.rejectDeployment({ code, description: problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ') }, sourced.contentHash);
  }
}
