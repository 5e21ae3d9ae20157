import { randomUUID } from 'node:crypto';
import { Agent, type Deployment } from '../agent/index.js';
import type { ConfigWatcher, OutpostConfig } from '../config/index.js';
import type { Dashboard } from '../dashboard/index.js';
import type { MqttBridge } from '../hub/bridge/index.js';
import { IdleMemoryRelease } from '../hub/idle-memory-release.js';
import type { Hub, HubPorts } from '../hub/index.js';
import { systemModuleTwins } from '../hub/twin/index.js';
import type { Logger } from '../log/index.js';
import { AgentMetrics, MetricsRegistry, MetricsServer } from '../metrics/index.js';
import { loadNative } from '../native/index.js';
import { VERSION } from '../version.js';
import { agentOptions } from './agent-options.js';
import { applyDeployment } from './apply-deployment.js';
import { startHub } from './start-hub.js';
import { startTelemetry } from './start-telemetry.js';
import { watchHubConfig, type ConfigSource } from './watch-hub-config.js';

export interface RuntimeOptions {
  readonly config: OutpostConfig;
  readonly logger: Logger;
  readonly hub: boolean;
  readonly agent: boolean;
  /** Where the configuration came from: a hub run alone watches the file for new routes and policy. */
  readonly configSource?: ConfigSource;
}

/**
 * What `outpost run`, `hub` and `agent` run: the CLI decides which components run, this starts
 * them in dependency order (hub, agent, then what reads both) and stops them in reverse.
 */
export class Runtime {
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: RuntimeOptions,
    readonly hub: Hub | undefined,
    readonly agent: Agent | undefined,
    /** Things the hub owns beside its listeners, closed after it (workload API, file watchers). */
    private readonly closers: readonly (() => Promise<void> | void)[],
    private readonly configWatcher: ConfigWatcher | undefined,
    /** Port of the plain metrics listener (metrics.plain), when it runs. */
    readonly metricsPort: number | undefined,
    /** The dashboard (dashboard.enabled with a hub), when it runs. */
    readonly dashboard: Dashboard | undefined,
    /** Stopped before the hub, while its broker still takes messages. */
    private readonly bridge: MqttBridge | undefined,
  ) {}

  static async start(options: RuntimeOptions): Promise<Runtime> {
    const { config, logger } = options;
    // config.native (OUTPOST_NATIVE): `require` fails the start here when the addon does not load.
    // A component that adopts a native function takes `native` from here (the broker's topic
    // filter index; docs/benchmarks.md, "Native addon").
    const native = loadNative(config.native);
    logger.debug({ event: 'runtime.native', implementation: native.implementation, reason: native.reason }, 'native addon');
    const closers: (() => Promise<void> | void)[] = [];
    const alone = options.hub && !options.agent;
    // One registry for hub and agent (one process, one endpoint); none at all when both ways of
    // serving it are off, so nothing is counted that nobody reads.
    // The dashboard reads the same registry.
    // Runtime quality telemetry reads it too, where the hub runs (its message goes through the store).
    const telemetryOn = config.telemetry.enabled && options.hub;
    const metrics = config.metrics.enabled || config.metrics.plain || config.dashboard.enabled || telemetryOn ? new MetricsRegistry({ iothub: config.iotHubHostname, edge_device: config.deviceId, instance_number: randomUUID() }) : undefined;
    const started = options.hub ? await startHub(config, native, logger, closers, alone, options.agent ? 'run' : 'hub', metrics) : undefined;
    const hub = started?.hub;
    let agent: Agent | undefined;
    let configWatcher: ConfigWatcher | undefined;
    let metricsPort: number | undefined;
    try {
      const agentMetrics = options.agent && metrics !== undefined ? new AgentMetrics(metrics) : undefined;
      const agentLogger = logger.child({ component: 'agent' });
      // With an upstream the deployment comes from above: the $edgeAgent/$edgeHub twins of this
      // hub, which the upstream relay keeps in step with the parent. An agent without its hub in
      // this process cannot reach them, and keeps the manifest file.
      const fromAbove = config.upstream.hostname !== null && started !== undefined ? systemModuleTwins(started.twins, config.deviceId) : undefined;
      if (options.agent && config.upstream.hostname !== null && started === undefined) {
        agentLogger.warn({ event: 'agent.upstream_without_hub' }, 'upstream.hostname is set but the hub runs in another process: this agent keeps the manifest file; run `outpost run` to be managed from above');
      }
      agent = options.agent ? await Agent.start({ ...agentOptions(config, agentLogger, hub), commandObserver: agentMetrics, ...(fromAbove === undefined ? {} : { desiredTwins: fromAbove }) }) : undefined;
      if (metrics !== undefined && agentMetrics !== undefined && agent !== undefined) {
        const running = agent;
        agentMetrics.attach(metrics, { reported: () => running.reported, dataDir: config.dataDir, processModuleName: options.hub ? 'edgeHub' : 'edgeAgent', version: VERSION });
      }
      if (agent !== undefined && started?.dashboard !== undefined) {
        const running = agent;
        started.dashboard.readModulesFrom(() => running.reported);
      }
      if (metrics !== undefined && config.metrics.plain) {
        const server = await MetricsServer.start({ host: config.metrics.host, port: config.metrics.port, registry: metrics, logger });
        closers.push(() => server.close());
        metricsPort = server.port;
      }
      if (agent !== undefined && started !== undefined) {
        const running = agent;
        // A new deployment (`outpost deploy`, or an edit of the watched manifest) brings new routes
        // and a new broker policy. The agent may already hold a newer one than the file the hub
        // read (a deploy kept across restarts): that one is in force.
        const apply = (deployment: Deployment) => applyDeployment(started, deployment, logger);
        running.onDeployment(apply);
        const current = running.deployment;
        if (current !== undefined && JSON.stringify(current.manifest.hub) !== JSON.stringify(started.manifestHub)) apply(current);
      }
      if (started !== undefined) startTelemetry(config, metrics, started.store, logger, closers);
      const configFile = options.configSource?.file ?? null;
      if (alone && started !== undefined && options.configSource !== undefined && configFile !== null) {
        const watcher = watchHubConfig(started, options.configSource, configFile, config, logger);
        if (watcher !== undefined) closers.push(() => watcher.close());
        configWatcher = watcher;
      }
    } catch (error) {
      await hub?.stop(Date.now() + config.shutdownTimeout);
      for (const close of closers) await close();
      throw error;
    }
    // Last, once everything has started: start-up's allocation burst is over (docs/benchmarks.md,
    // "Where the idle memory goes"). Only with the addon. malloc_trim gives the free pages back at
    // once; V8's low-memory collection (the young generation start-up grew, about 16 MiB) waits for
    // the first idle interval: right after start-up it made the SAS storm that often follows cost
    // 1.21-1.25x the anonymous one's CPU per connection (1.04 without). It once also made QoS 1
    // fan-in cost 2.4x: that was the in-flight Map's promotion chain (PacketIdSlots). Tried again
    // with the old space's growth held (memory-plan-log.ts): the idle hub read soon after start
    // was 87 against 95 MiB, but the plain storm right after start cost 73-75 against 63-65 µs of
    // CPU per connection (2 of 3 pairs), so it still waits (docs/benchmarks.md).
    const releaseIdleMemory = native.releaseIdleMemory;
    if (releaseIdleMemory !== undefined) {
      const release = new IdleMemoryRelease({
        release: (collect) => releaseIdleMemory(collect),
        collectAtStartup: false,
        logger: logger.child({ component: 'memory' }),
        ...(native.mallocStats === undefined ? {} : { mallocStats: native.mallocStats }),
      });
      release.start();
      closers.push(() => release.stop());
    }
    return new Runtime(options, hub, agent, closers, configWatcher, metricsPort, started?.dashboard, started?.bridge);
  }

  /** True when a hub run alone follows its configuration file. */
  get watchesConfig(): boolean {
    return this.configWatcher !== undefined;
  }

  /** Loads the configuration file again now (SIGHUP). */
  reloadConfig(): void {
    this.configWatcher?.reload();
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
    // Open dashboard pages are streams that never end by themselves: closed before the HTTPS
    // listener waits for its requests to finish.
    this.dashboard?.close();
    await this.agent?.stop();
    await this.bridge?.close();
    await this.hub?.stop(deadlineMs);
    for (const close of this.closers) await close();
    logger.info({ event: 'runtime.stopped', reason }, 'stopped');
  }
}
