import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutpostConfig } from '../config/index.js';
import { OutpostError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { DeploymentSource, DeploymentStatusCode, deploymentFromTwins, manifestError, type Deployment, type DeploymentManifest, type DeploymentStatus, type ManifestProblem, type SourcedDeployment } from './manifest/index.js';
import { ControlServer } from './run/control-server.js';
import { hubReported, TwinReporter, type DesiredTwins } from './run/desired-twins.js';
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
  /**
   * Managed from above (the edge device has an upstream): the deployment comes from the
   * `$edgeAgent` and `$edgeHub` desired properties and the status goes into their reported
   * properties, instead of the manifest file (docs/agent.md, "Managed from above").
   */
  readonly desiredTwins?: DesiredTwins;
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
  /** From above: the reload under way (one at a time, each reads the twins afresh), and what the last one applied. */
  private twinReload: Promise<void> = Promise.resolve();
  private twinApplied: string | undefined;
  private agentReporter: TwinReporter | undefined;
  private hubReporter: TwinReporter | undefined;

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
    const runtime = options.runtime ?? await createRuntime(config, logger, options.hostEnv ?? {});
    const source = new DeploymentSource({ configuredFile: deploymentFileOf(config), stateDir, runtime: runtime.kind, logger, searchPath: options.hostEnv?.PATH ?? '' });
    const fromAbove = options.desiredTwins !== undefined;
    const initial = fromAbove ? undefined : source.load();
    // A manifest that is invalid at start-up stops the start (exit 2), as `outpost check` would
    // say; once running, an invalid manifest is reported and the last valid one stays applied.
    // From above there is no file to fix here: whatever the twins hold is reported, not thrown.
    if (initial !== undefined && !initial.result.ok) throw manifestError(initial.file, initial.result.problems, initial.result.code);
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
    const started = agent;
    if (initial !== undefined) {
      agent.apply(initial);
      source.watch((sourced) => started.apply(sourced));
      logger.info(
        { event: 'agent.ready', deployment: initial.file, origin: initial.origin, runtime: runtime.kind, modules: initial.result.ok ? initial.result.deployment.modules.map((m) => m.id) : [], controlSocket: controlSocketOf(config) },
        'agent ready',
      );
      return agent;
    }
    await agent.manageFromAbove(options.desiredTwins!);
    logger.info({ event: 'agent.ready', origin: 'twin', runtime: runtime.kind, modules: agent.deployment?.modules.map((m) => m.id) ?? [], controlSocket: controlSocketOf(config) }, 'agent ready, managed from above');
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
    if (this.options.desiredTwins !== undefined) {
      throw new OutpostError('OUTPOST_AGENT_MANAGED_FROM_ABOVE', `this edge device (${this.options.config.deviceId}) is managed from above: its deployment is the $edgeAgent and $edgeHub desired properties its parent sets; run \`outpost deploy <file> --device ${this.options.config.deviceId}\` on the parent`);
    }
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
    // The 406 "Agent is not running" report goes into the twin before the hub stops.
    await this.agentReporter?.flushed();
    await this.runtime.close();
    logger.info({ event: 'agent.stopped', modulesStopped: stopModules }, 'agent stopped');
  }

  /**
   * From above: reports go into the `$edgeAgent` twin, the deployment is read from the twins now
   * and after every desired change (each change applied without a restart).
   */
  private async manageFromAbove(twins: DesiredTwins): Promise<void> {
    const logger = this.options.logger;
    this.agentReporter = new TwinReporter(twins, '$edgeAgent', logger);
    this.hubReporter = new TwinReporter(twins, '$edgeHub', logger);
    const reporter = this.agentReporter;
    this.reconciler.onReport((reported) => reporter.report(reported));
    twins.onDesiredChanged(() => void this.reloadFromTwins());
    await this.reloadFromTwins();
  }

  private reloadFromTwins(): Promise<void> {
    this.twinReload = this.twinReload.then(() => this.loadTwins()).catch((error: unknown) => {
      this.options.logger.error({ event: 'agent.twin_read_failed', code: 'OUTPOST_TWIN_STORE_FAILED', err: error }, 'cannot read the $edgeAgent/$edgeHub desired properties; the deployment in force stays');
    });
    return this.twinReload;
  }

  private async loadTwins(): Promise<void> {
    const twins = this.options.desiredTwins!;
    const [agentDesired, hubDesired] = await Promise.all([twins.desired('$edgeAgent'), twins.desired('$edgeHub')]);
    const sourced = deploymentFromTwins(agentDesired, hubDesired, {
      file: join(agentDirOf(this.options.config), 'desired-deployment.json'),
      runtime: this.runtime.kind,
      searchPath: this.options.hostEnv?.PATH ?? '',
    });
    const key = `${sourced.agentVersion}/${sourced.hubVersion}/${sourced.contentHash}`;
    if (key === this.twinApplied) return;
    this.twinApplied = key;
    const status = this.apply(sourced, sourced.agentVersion);
    // The hub takes its part ($edgeHub: routes, store-and-forward, policy) with the same
    // deployment (onDeployment); its status is written as Azure's edge hub writes it.
    this.hubReporter?.report(hubReported(this.options.version ?? '0.0.0', sourced.hubVersion, status));
  }

  /** Applies a valid deployment or reports a rejected one; returns the status a rejection is reported with (200 when applied). */
  private apply(sourced: SourcedDeployment, desiredVersion?: number): DeploymentStatus {
    const { logger } = this.options;
    if (sourced.result.ok) {
      const deployment = sourced.result.deployment;
      logger.info({ event: 'agent.deployment_applied', file: sourced.file, origin: sourced.origin, desiredVersion, modules: deployment.modules.map((m) => m.id) }, 'deployment applied');
      this.reconciler.setDeployment(deployment, sourced.contentHash, desiredVersion);
      for (const listener of this.deploymentListeners) listener(deployment);
      return { code: DeploymentStatusCode.Successful, description: '' };
    }
    const { code, problems } = sourced.result;
    const error = manifestError(sourced.file, problems, code);
    logger.error({ event: 'agent.deployment_rejected', code: error.code, statusCode: code, file: sourced.file, origin: sourced.origin, desiredVersion, problems }, 'deployment rejected; the last valid deployment stays applied');
    const status = { code, description: problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ') };
    this.reconciler.rejectDeployment(status, sourced.contentHash, desiredVersion);
    return status;
  }
}
