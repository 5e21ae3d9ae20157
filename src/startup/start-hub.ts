import { join } from 'node:path';
import { ControlClient, controlSocketOf, readDeployment, routeProblems, type ReportedProperties } from '../agent/index.js';
import { planMemory, type OutpostConfig } from '../config/index.js';
import { Dashboard, DASHBOARD_PATH } from '../dashboard/index.js';
import { DataDirLock } from '../fs/index.js';
import { AnonymousAuthenticator, Authorizer, BrokerPolicy, IdentityAuthenticator, IdentityRegistry, mayActFor, sessionOwnerKey, WorkloadServer } from '../hub/auth/index.js';
import { bridgeRulesFromDeployment, openBridge, type MqttBridge } from '../hub/bridge/index.js';
import { Broker, MemoryBrokerStore, RocksBrokerStore } from '../hub/broker/index.js';
import { C2dService, MemoryC2dStore, RocksC2dStore } from '../hub/c2d/index.js';
import { HUB_CONTROL_SOCKET, HubControlServer, OPERATOR_API_METHODS, OPERATOR_API_PREFIX, c2dControl, deployControl, methodControl, operatorApiRoute, twinControl, type CheckedDeployment, type HubControlHandlers } from '../hub/control/index.js';
import { ConnectedClients } from '../hub/core/index.js';
import { moduleInputTarget } from '../hub/endpoints/index.js';
import { Hub } from '../hub/index.js';
import { applyMemoryPlan } from '../hub/memory-plan-log.js';
import { MethodHttpStatus, MethodService, type MethodAnswer, type MethodCall } from '../hub/methods/index.js';
import { MessageStore, storeOptionsFromConfig } from '../hub/store/index.js';
import { AmqpAdapter, DEVICE_SCOPE_ROUTE_PREFIX, deviceScopeRoute, METHODS_ROUTE_PREFIX, methodsRoute, MqttAdapter, Subprotocol, WebSocketUpgrade, type WebSocketProtocol } from '../hub/transport/index.js';
import { MemoryTwinStore, RocksTwinStore, TwinService } from '../hub/twin/index.js';
import { EDGE_HUB_MODULE, openUpstream, REFRESH_SCOPE_METHOD, type DeviceScopeSync } from '../hub/upstream/index.js';
import type { Logger } from '../log/index.js';
import { HubMetrics, metricsRoute, METRICS_PATH, OutpostMetrics, type MetricsRegistry } from '../metrics/index.js';
import type { NativeFunctions } from '../native/index.js';
import { VERSION } from '../version.js';
import { hubSources } from './hub-sources.js';

/** Largest AMQP frame, as Azure's edge hub announces it (notes 6.1). */
const AMQP_MAX_FRAME_BYTES = 65_536;

/** What the hub runs with, and the parts a new deployment or configuration replaces. */
export interface StartedHub {
  readonly hub: Hub;
  readonly store: MessageStore;
  readonly mqtt: MqttAdapter;
  readonly policy: BrokerPolicy;
  readonly bridge: MqttBridge;
  /** The $edgeHub part of the manifest the hub started from, when it read one. */
  readonly manifestHub: Readonly<Record<string, unknown>> | undefined;
  readonly dashboard: Dashboard | undefined;
  /** The twins: an agent managed from above reads and reports through this edge device's system module twins. */
  readonly twins: TwinService;
}

export async function startHub(config: OutpostConfig, native: NativeFunctions, rootLogger: Logger, closers: (() => Promise<void> | void)[], alone: boolean, command: string, metrics: MetricsRegistry | undefined): Promise<StartedHub> {
  // First, before any store opens: a second hub on the same data directory is told which process
  // holds it, instead of failing half-started on RocksDB's own lock.
  const lock = DataDirLock.acquire(config.dataDir, command);
  try {
    const started = await startHubParts(config, native, rootLogger, closers, alone, metrics);
    closers.push(() => lock.release());
    return started;
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startHubParts(config: OutpostConfig, native: NativeFunctions, rootLogger: Logger, closers: (() => Promise<void> | void)[], alone: boolean, metrics: MetricsRegistry | undefined): Promise<StartedHub> {
  // Each part's logger is a child of the root, not of the hub's: pino does not replace a bound
  // key, so a child of a child with its own `component` wrote the key twice on every line.
  const logger = rootLogger.child({ component: 'hub' });
  const componentLogger = (component: string) => rootLogger.child({ component });
  const sources = hubSources(config, alone, logger);
  // Identities: the local registry (kept current when `outpost identity` changes it), SAS and
  // X.509 verification, and the broker's authorization policy.
  const registry = IdentityRegistry.open({ dataDir: config.dataDir, edgeDeviceId: config.deviceId });
  const stopWatching = registry.watch({
    onReload: () => logger.info({ event: 'identity.registry_reloaded', identities: registry.size }, 'identity registry reloaded'),
    onError: (error) => logger.error({ event: 'identity.registry_unreadable', code: error.code, err: error }, error.message),
  });
  closers.push(stopWatching);
  const identityAuthenticator = IdentityAuthenticator.fromConfig(config, registry);
  // The hub's metrics observe its parts as they work (src/metrics; docs/metrics.md).
  const hubMetrics = metrics === undefined ? undefined : new HubMetrics(metrics, config.deviceId);
  const anonymous = new AnonymousAuthenticator(config.mqttPlain.allowAnonymous, identityAuthenticator);
  const authenticator = hubMetrics === undefined ? anonymous : hubMetrics.countingAuthenticator(anonymous);
  const authorizer = new Authorizer({ iotHubHostname: config.iotHubHostname, thisDeviceId: config.deviceId, policy: sources.policy });
  const policy = new BrokerPolicy(authorizer, componentLogger('auth'), sources.policy);

  // What grows is bounded by the memory budget (memoryBudget; src/config/memory-plan.ts).
  const memory = planMemory(config);
  const applied = applyMemoryPlan(memory, logger, native);
  for (const hold of applied.holds) closers.push(() => hold.stop());
  const rocksMemory = (writeBufferBytes: number) => ({ writeBufferBytes, blockCache: memory.blockCache });
  const broker = new Broker({
    limits: {
      maxInflight: config.mqtt.maxInflight,
      maxQueued: config.mqtt.maxQueuedMessages,
      maxQueuedBytes: memory.queuedBytesPerSession,
      maxQueuedBytesTotal: memory.queuedBytesTotal,
      maxSessionsPerOwner: config.mqtt.maxSessionsPerIdentity,
    },
    ownerKey: sessionOwnerKey,
    store: config.store.persistent ? new RocksBrokerStore(join(config.dataDir, 'broker'), logger, { minFreeDiskBytes: config.store.minFreeDisk, memtableBytes: memory.writeBufferBytes.broker, blockCache: memory.blockCache }) : new MemoryBrokerStore(),
    logger: componentLogger('broker'),
    // Only the addon: without it (native off, or auto and not built) the broker keeps its trie.
    ...(native.implementation === 'native' ? { createTopicFilterIndex: () => native.createTopicFilterIndex() } : {}),
  });
  await broker.start();
  // The store takes messages in from the transports and delivers to module inputs through the hub
  // core (ConnectedClients): the target is attached once the core exists.
  const store = await MessageStore.open(storeOptionsFromConfig(config, memory), sources.routes, componentLogger('store'));
  closers.push(() => store.close());
  // The main thread's young generation grows for messages in flight, not for a connection storm:
  // the broker's publishes and the messages the store has taken (counted per appended batch).
  applied.youngGeneration?.countMessagesWith(() => broker.counters.published + store.metrics.accepted);
  // Twins: durable under <dataDir>/twins unless the store is in memory; change notifications go
  // to routing (FROM /twinChangeNotifications). Closed after the adapters stop, before the store.
  const twinStore = config.store.persistent ? new RocksTwinStore(join(config.dataDir, 'twins'), logger, rocksMemory(memory.writeBufferBytes.twin)) : new MemoryTwinStore();
  await twinStore.open();
  const twins = new TwinService({ store: twinStore, logger: componentLogger('twin'), sink: store, hubName: config.iotHubHostname.split('.')[0] ?? config.iotHubHostname, observer: hubMetrics });
  if (hubMetrics !== undefined) store.observe(hubMetrics);
  closers.unshift(() => twins.close());
  // The hub core: connected clients (every transport registers its links) and direct methods to
  // whatever this edge device owns (its modules, its child devices and theirs).
  const clients = new ConnectedClients();
  if (hubMetrics !== undefined) clients.onRemoved((link) => hubMetrics.clientRemoved(link));
  const edge = { kind: 'device', deviceId: config.deviceId } as const;
  const methods = new MethodService({
    clients,
    inScope: (deviceId, moduleId) => registry.get(deviceId, moduleId) !== undefined && mayActFor(edge, deviceId, moduleId, registry),
    logger: componentLogger('methods'),
    observer: hubMetrics,
  });
  closers.unshift(() => methods.close());
  // C2D: one durable queue per device under <dataDir>/c2d (docs/c2d.md), for devices in the registry.
  const c2d = await C2dService.open({
    store: config.store.persistent ? new RocksC2dStore(join(config.dataDir, 'c2d'), logger, rocksMemory(memory.writeBufferBytes.c2d)) : new MemoryC2dStore(),
    logger: componentLogger('c2d'),
    deviceExists: (deviceId) => registry.get(deviceId) !== undefined,
  });
  closers.unshift(() => c2d.close());
  const mqtt = new MqttAdapter({
    broker,
    authenticator,
    authorizer,
    scope: registry,
    identities: registry,
    limits: {
      maxPacketBytes: config.mqtt.maxPacketSize,
      receiveMaximum: config.mqtt.receiveMaximum,
      maxInflight: config.mqtt.maxInflight,
      maxConnectionBufferBytes: memory.connectionBufferBytes,
      maxKeepAliveSec: Math.floor(config.mqtt.maxKeepAlive / 1000),
      maxSessionExpirySec: Math.floor(config.mqtt.maxSessionExpiry / 1000),
      topicAliasMaximum: config.mqtt.topicAliasMaximum,
    },
    logger,
    iotHub: { edgeDeviceId: config.deviceId, sink: store, twins, clients, methods, c2d },
  });
  // AMQP 1.0 on 5671 (docs/amqp.md): the same hub core services as MQTT's IoT Hub dialect.
  const amqp = new AmqpAdapter({
    authenticator,
    services: { edgeDeviceId: config.deviceId, sink: store, twins, clients, methods, c2d, chains: registry },
    limits: { maxMessageBytes: config.amqp.maxMessageSize, maxFrameBytes: AMQP_MAX_FRAME_BYTES, idleTimeoutMs: config.amqp.idleTimeout, linkCredit: config.amqp.linkCredit, clockSkewMs: config.auth.sasClockSkew },
    logger,
  });
  // Routed messages reach module inputs through the hub core: the module's ClientLink, whatever its
  // protocol; `$upstream` goes to the parent over the upstream link when upstream.hostname is set.
  const moduleInputs = moduleInputTarget({ clients, edgeDeviceId: config.deviceId });
  const upstream = openUpstream(config, {
    registry,
    services: { clients, twins, methods, c2d },
    retryNow: (endpointId) => store.retryNow(endpointId),
    version: VERSION,
    logger: componentLogger('upstream'),
    ...(hubMetrics === undefined ? {} : { connectivity: { offline: () => hubMetrics.wentOffline(), online: (ms: number) => hubMetrics.backOnline(ms / 1000) } }),
  });
  if (upstream === undefined) store.attach(moduleInputs);
  else {
    // A device registered up the tree but not synced here yet: the scope is fetched before it is refused.
    identityAuthenticator.lookUpUnknownIdentitiesWith((deviceId, moduleId) => upstream.scope.refreshForUnknown(deviceId, moduleId));
    // IoT Hub's way to tell an edge hub that its scope changed: a direct method on its $edgeHub.
    methods.handleLocally(`${config.deviceId}/${EDGE_HUB_MODULE}`, (call) => edgeHubMethod(call, upstream.scope));
    closers.unshift(() => {
      upstream.scope.close();
      upstream.relay?.close();
      return upstream.link.close();
    });
    store.attach({
      deliver: (endpoint, message, onSettled) => (endpoint.kind === 'upstream' ? upstream.target : moduleInputs).deliver(endpoint, message, onSettled),
      // $upstream identities wait on their own (a refused one does not hold up the others).
      sourceOf: (endpoint, message) => (endpoint.kind === 'upstream' ? upstream.target.sourceOf?.(endpoint, message) : undefined),
    });
  }
  // Persistent sessions restored from disk got their subscriptions under an earlier policy.
  policy.enforce(mqtt);
  // The MQTT bridge to the parent's broker (docs/bridge.md): rules from the deployment, replaced with it.
  const bridge = openBridge(config, broker, registry, componentLogger('bridge'));
  bridge.apply(bridgeRulesFromDeployment(sources.manifestHub ?? {}));
  closers.unshift(() => bridge.close());
  // MQTT and AMQP over WebSocket on the HTTPS listener, each while its protocol is on.
  const webSocketProtocols = new Map<string, WebSocketProtocol>();
  if (config.https.webSocket && config.mqtt.enabled) webSocketProtocols.set(Subprotocol.Mqtt, { adapter: mqtt, listener: 'mqttWs', connectTimeoutMs: config.mqtt.connectTimeout });
  if (config.https.webSocket && config.amqp.enabled) webSocketProtocols.set(Subprotocol.Amqp, { adapter: amqp, listener: 'amqpWs', connectTimeoutMs: config.amqp.connectTimeout });
  const webSocket = new WebSocketUpgrade({ protocols: webSocketProtocols, maxMessageBytes: config.https.maxWebSocketMessageSize, logger: componentLogger('websocket') });
  const hub = await Hub.start({ config, logger, version: VERSION, adapters: { mqtt, amqp }, upgrade: webSocket.handleUpgrade }).catch(async (error: unknown) => {
    await twins.close();
    await c2d.close();
    await store.close();
    throw error;
  });
  // Direct methods from modules (ModuleClient.invokeMethod), on the HTTPS listener.
  hub.routeHttps('POST', METHODS_ROUTE_PREFIX, methodsRoute({ edgeDeviceId: config.deviceId, methods, verifySasToken: (token, deviceId, moduleId) => identityAuthenticator.verifySasToken(token, deviceId, moduleId), logger: logger.child({ component: 'methods' }) }));
  // The device scope of a child edge device (nested edge), which it keeps to authenticate its devices offline.
  const scopeRoute = deviceScopeRoute({
    registry,
    verifySasToken: (token, deviceId, moduleId) => identityAuthenticator.verifySasToken(token, deviceId, moduleId),
    ...(upstream === undefined ? {} : { lookUpUnknown: (deviceId: string, moduleId: string | undefined) => upstream.scope.refreshForUnknown(deviceId, moduleId) }),
    logger: componentLogger('identity'),
  });
  // GET: IoT Hub's first scope API; POST: the nested one (Azure's edge hub 1.2 and later as a child).
  hub.routeHttps('GET', DEVICE_SCOPE_ROUTE_PREFIX, scopeRoute);
  hub.routeHttps('POST', DEVICE_SCOPE_ROUTE_PREFIX, scopeRoute);
  if (metrics !== undefined && hubMetrics !== undefined) {
    new OutpostMetrics(metrics).attach(
      metrics,
      {
        store,
        broker,
        protocolErrors: mqtt.protocolErrors,
        connectedClients: () => clients.list().length,
        connections: () => hub.connectionCount,
        c2d,
        nativeImplementation: native.implementation,
      },
      hubMetrics,
    );
    if (config.metrics.enabled) hub.routeHttps('GET', METRICS_PATH, metricsRoute({ registry: metrics, edgeDeviceId: config.deviceId, verifySasToken: (token, deviceId, moduleId) => identityAuthenticator.verifySasToken(token, deviceId, moduleId), logger: componentLogger('metrics') }));
  }
  // The live dashboard (docs/dashboard.md): figures from the registry and the parts' own stats.
  let dashboard: Dashboard | undefined;
  if (metrics !== undefined && config.dashboard.enabled && hub.ports.https !== null) {
    const agentControl = new ControlClient(controlSocketOf(config));
    dashboard = new Dashboard({
      sources: { edgeDeviceId: config.deviceId, version: VERSION, dataDir: config.dataDir, registry: metrics, store, clients: () => clients.list() },
      // An agent in another process (`outpost agent`) answers on its control socket, as for `outpost list`.
      modules: async () => {
        const answer = await agentControl.call('GET', '/v1/status');
        return answer.status === 200 ? (answer.body as ReportedProperties) : undefined;
      },
      intervalMs: config.dashboard.interval,
      logger: componentLogger('dashboard'),
    });
    const handler = dashboard.handler;
    hub.routeHttps('GET', DASHBOARD_PATH, handler);
    hub.routeHttps('POST', DASHBOARD_PATH, handler);
    const opened = dashboard;
    closers.unshift(() => opened.close());
  }
  // Modules authenticate through the workload API (ModuleClient.fromEnvironment); it hands out
  // the CA that verifies this hub.
  const workload = await WorkloadServer.start({ socketPath: join(config.dataDir, 'workload.sock'), registry, trustBundle: hub.credentials.ca, logger });
  closers.push(() => workload.stop());
  // The operator's side of twins (`outpost twin …`), methods (`outpost method …`) and C2D (`outpost c2d …`), for identities in the registry.
  const exists = (deviceId: string, moduleId: string | undefined) => registry.get(deviceId, moduleId) !== undefined;
  // status and metrics: for `outpost check` (ports to probe) and `outpost support-bundle`.
  const startedAt = new Date().toISOString();
  const status = () => ({ pid: process.pid, version: VERSION, startedAt, ports: hub.ports });
  // `outpost deploy <file> --device <child>`: a root (or any parent) deploys to an edge device below.
  const deployments = deployControl(twins, exists, checkDeploymentForChild);
  const controlHandlers: HubControlHandlers = { ...twinControl(twins, exists), ...methodControl(methods), c2d: c2dControl(c2d), deployments, status, delivery: () => store.deliveryState(), ...(metrics === undefined ? {} : { metrics: (names) => metrics.scrape(names) }) };
  const control = await HubControlServer.start(join(config.dataDir, HUB_CONTROL_SOCKET), controlHandlers, logger);
  // The same API on HTTPS for a remote operator, behind <dataDir>/api.token (`outpost api token`).
  const operatorApi = operatorApiRoute({ dataDir: config.dataDir, handlers: controlHandlers, logger: componentLogger('operator-api') });
  for (const method of OPERATOR_API_METHODS) hub.routeHttps(method, OPERATOR_API_PREFIX, operatorApi);
  closers.unshift(() => control.close());
  hub.announceReady();
  return { hub, store, mqtt, policy, bridge, manifestHub: sources.manifestHub, dashboard, twins };
}

/** The direct methods this hub answers as its own `$edgeHub` module (Azure's edge hub has this one). */
async function edgeHubMethod(call: MethodCall, scope: DeviceScopeSync): Promise<MethodAnswer> {
  if (call.methodName !== REFRESH_SCOPE_METHOD) return { httpStatus: MethodHttpStatus.Ok, body: { status: MethodHttpStatus.NotFound, payload: { message: `${EDGE_HUB_MODULE} has no direct method ${call.methodName} (it has ${REFRESH_SCOPE_METHOD})` } } };
  await scope.refreshNow();
  return { httpStatus: MethodHttpStatus.Ok, body: { status: MethodHttpStatus.Ok, payload: null } };
}

/**
 * A deployment for an edge device below, checked as `outpost deploy` checks a local one (schema,
 * modules, routes that compile) except for what only the child can know: its module runtime and
 * whether a process module's program exists there (its agent checks those, and reports 400).
 */
function checkDeploymentForChild(deviceId: string, text: string): CheckedDeployment {
  const result = readDeployment(`deployment for ${deviceId}`, undefined, text);
  if (!result.ok) return { ok: false, statusCode: result.code, problems: result.problems };
  const problems = routeProblems(result.deployment.manifest.hub);
  if (problems.length > 0) return { ok: false, statusCode: 400, problems };
  const content = (JSON.parse(text) as { modulesContent: Record<string, Record<string, unknown>> }).modulesContent;
  const desired = new Map<string, Record<string, unknown>>();
  for (const [moduleId, twin] of Object.entries(content)) {
    const section = twin['properties.desired'];
    if (typeof section === 'object' && section !== null && !Array.isArray(section)) desired.set(moduleId, section as Record<string, unknown>);
  }
  return { ok: true, desired };
}
