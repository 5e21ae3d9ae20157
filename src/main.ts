import { join } from 'node:path';
import type { OutpostConfig } from './config/index.js';
import { Agent, deploymentFileOf, manifestError, readManifest } from './agent/index.js';
import { InterimRouter, type MessageSink } from './hub/endpoints/index.js';
import { LocalTwinStore } from './hub/twin/index.js';
import { AnonymousAuthenticator, Authorizer, IdentityAuthenticator, IdentityRegistry, WorkloadServer } from './hub/auth/index.js';
import { Broker, MemoryBrokerStore, RocksBrokerStore } from './hub/broker/index.js';
import { Hub, type HubPorts } from './hub/index.js';
import { MqttAdapter } from './hub/transport/index.js';
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
    /** Things the hub owns beside its listeners, closed after it (workload API, file watchers). */
    private readonly closers: readonly (() => Promise<void> | void)[],
  ) {}

  static async start(options: RuntimeOptions): Promise<Runtime> {
    const { config, logger } = options;
    const closers: (() => Promise<void> | void)[] = [];
    const hub = options.hub ? await startHub(config, logger.child({ component: 'hub' }), closers) : undefined;
    let agent: Agent | undefined;
    try {
      agent = options.agent ? await Agent.start({ config, logger: logger.child({ component: 'agent' }) }) : undefined;
    } catch (error) {
      await hub?.stop(Date.now() + config.shutdownTimeout);
      for (const close of closers) await close();
      throw error;
    }
    return new Runtime(options, hub, agent, closers);
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
    for (const close of this.closers) await close();
    logger.info({ event: 'runtime.stopped', reason }, 'stopped');
  }
}

async function startHub(config: OutpostConfig, logger: Logger, closers: (() => Promise<void> | void)[]): Promise<Hub> {
  // Identities: the local registry (kept current when `outpost identity` changes it), SAS and
  // X.509 verification, and the broker's authorization policy.
  const registry = IdentityRegistry.open({ dataDir: config.dataDir, edgeDeviceId: config.deviceId });
  const stopWatching = registry.watch({
    onReload: () => logger.info({ event: 'identity.registry_reloaded', identities: registry.size }, 'identity registry reloaded'),
    onError: (error) => logger.error({ event: 'identity.registry_unreadable', code: error.code, err: error }, error.message),
  });
  closers.push(stopWatching);
  const authenticator = new AnonymousAuthenticator(config.mqttPlain.allowAnonymous, IdentityAuthenticator.fromConfig(config, registry));
  const authorizer = new Authorizer({ iotHubHostname: config.iotHubHostname, thisDeviceId: config.deviceId });

  const broker = new Broker({
    limits: { maxInflight: config.mqtt.maxInflight, maxQueued: config.mqtt.maxQueuedMessages },
    store: config.store.persistent ? new RocksBrokerStore(join(config.dataDir, 'broker'), logger) : new MemoryBrokerStore(),
    logger: logger.child({ component: 'broker' }),
  });
  await broker.start();
  // Routes come from the deployment's $edgeHub part; the router and the MQTT adapter need each
  // other (messages in, module inputs out), so the sink is bound once both exist.
  const deploymentFile = deploymentFileOf(config);
  const manifest = readManifest(deploymentFile);
  if (!manifest.ok) throw manifestError(deploymentFile, manifest.problems);
  let router: InterimRouter | undefined;
  const sink: MessageSink = { submit: (message) => router!.submit(message) };
  const mqtt = new MqttAdapter({
    broker,
    authenticator,
    authorizer,
    scope: registry,
    limits: {
      maxPacketBytes: config.mqtt.maxPacketSize,
      receiveMaximum: config.mqtt.receiveMaximum,
      maxConnectionBufferBytes: config.mqtt.maxConnectionBuffer,
      maxKeepAliveSec: Math.floor(config.mqtt.maxKeepAlive / 1000),
      maxSessionExpirySec: Math.floor(config.mqtt.maxSessionExpiry / 1000),
      topicAliasMaximum: config.mqtt.topicAliasMaximum,
    },
    logger,
    iotHub: { edgeDeviceId: config.deviceId, sink, twins: new LocalTwinStore() },
  });
  router = new InterimRouter((manifest.manifest.hub.routes ?? {}) as Record<string, unknown>, mqtt, logger.child({ component: 'router' }));
  const hub = await Hub.start({ config, logger, version: VERSION, adapters: { mqtt } });
  // Modules authenticate through the workload API (ModuleClient.fromEnvironment); it hands out
  // the CA that verifies this hub.
  const workload = await WorkloadServer.start({ socketPath: join(config.dataDir, 'workload.sock'), registry, trustBundle: hub.credentials.ca, logger });
  closers.push(() => workload.stop());
  return hub;
}
