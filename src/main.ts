import { join } from 'node:path';
import type { OutpostConfig } from './config/index.js';
import { Agent, deploymentFileOf, manifestError, readManifest } from './agent/index.js';
import { InterimRouter, type MessageSink } from './hub/endpoints/index.js';
import { LocalTwinStore } from './hub/twin/index.js';
import { AnonymousAuthenticator } from './hub/auth/index.js';
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
  ) {}

  static async start(options: RuntimeOptions): Promise<Runtime> {
    const { config, logger } = options;
    const hub = options.hub ? await startHub(config, logger.child({ component: 'hub' })) : undefined;
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

async function startHub(config: OutpostConfig, logger: Logger): Promise<Hub> {
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
    authenticator: new AnonymousAuthenticator(config.mqttPlain.allowAnonymous, undefined),
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
  return Hub.start({ config, logger, version: VERSION, adapters: { mqtt } });
}
