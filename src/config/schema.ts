import { Type, type StaticDecode } from '@sinclair/typebox';

import {
  Bool,
  Bytes,
  Duration,
  Enum,
  EnumList,
  Int,
  Json,
  OptionalPath,
  OptionalStr,
  Path,
  Port,
  Section,
  Str,
  type AliasSpec,
} from './schema-helpers.js';
import { checkPolicy, checkRoutes } from './value-checks.js';

/** Azure writes whole seconds where we write durations with a unit. */
const seconds = (text: string): string => (/^\s*\d+\s*$/.test(text) ? `${text.trim()}s` : text);

/** Azure's RuntimeLogLevel uses Serilog's names. */
const azureLogLevel = (text: string): string => {
  const level = text.trim().toLowerCase();
  const map: Record<string, string> = { verbose: 'trace', information: 'info', warning: 'warn', critical: 'fatal' };
  return map[level] ?? level;
};

/** Azure's SslProtocols accepts "tls1.2,tls1.3" and also .NET's "Tls12, Tls13". */
const azureSslProtocols = (text: string): string =>
  text
    .split(',')
    .map((p) => p.trim().toLowerCase().replace(/^tls(\d)(\d)$/, 'tls$1.$2').replace(/^tlsv/, 'tls'))
    .join(',');

const alias = (name: string, toValue?: (text: string) => string, note?: string): AliasSpec =>
  toValue === undefined ? { name, ...(note ? { note } : {}) } : { name, toValue, ...(note ? { note } : {}) };

const listenerLeaves = (name: string, defaults: { port: number; enabledAlias?: string; portAlias?: string; flag: string }) => ({
  enabled: Bool(true, {
    description: `Serve ${name}.`,
    ...(defaults.enabledAlias ? { aliases: [alias(defaults.enabledAlias)] } : {}),
  }),
  host: OptionalStr({
    description: `Address the ${name} listener binds.`,
    defaultNote: 'all interfaces (IPv6 and IPv4)',
  }),
  port: Port(defaults.port, {
    description: `TCP port of the ${name} listener; 0 picks a free port (the actual port is in the hub.ready log line).`,
    flag: defaults.flag,
    ...(defaults.portAlias ? { aliases: [alias(defaults.portAlias)] } : {}),
  }),
  connectTimeout: Duration('60s', {
    description: `Time a new ${name} connection has to complete the TLS handshake and its protocol handshake (CONNECT, AMQP open) before it is closed.`,
    ...(name === 'MQTT' ? { aliases: [alias('MqttSettings__ConnectArrivalTimeout')] } : {}),
  }),
});

export const ConfigSchema = Section('Outpost configuration', {
  dataDir: Path('./data', {
    description: 'Directory for everything Outpost keeps: the development CA, the store, identities and agent state.',
    flag: '--data-dir',
  }),
  logLevel: Enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'], 'info', {
    description: 'Minimum level of the JSON log lines written to standard output.',
    flag: '--log-level',
    aliases: [alias('RuntimeLogLevel', azureLogLevel, 'Serilog names (verbose, information, warning) are mapped.')],
  }),
  native: Enum(['auto', 'off', 'require'], 'auto', {
    description: 'Native addon for the hottest paths: `auto` uses it when it loads, `off` never, `require` fails to start without it.',
  }),
  deviceId: Str('outpost-edge', {
    description: 'Device id of this edge device in its IoT hub.',
    aliases: [alias('IOTEDGE_DEVICEID')],
  }),
  iotHubHostname: Str('outpost.local', {
    description: 'Host name of the IoT hub this edge device belongs to; accepted as the audience of SAS tokens.',
    aliases: [alias('IOTEDGE_IOTHUBHOSTNAME')],
  }),
  gatewayHostname: OptionalStr({
    description: 'Host name clients use to reach this gateway (GatewayHostName in their connection strings); put in the development server certificate and accepted as a SAS audience.',
    flag: '--gateway-hostname',
    aliases: [alias('EdgeDeviceHostName')],
    defaultNote: "this machine's host name",
  }),
  memoryBudget: Bytes('256MiB', {
    description:
      'Memory for everything in the hub that grows with load, split by a fixed rule (docs/benchmarks.md, "Memory budget"): RocksDB write buffers of every store shard and of the broker, twin and C2D databases, the V8 heaps of the store\'s worker threads, the broker\'s queued bytes (bounds mqtt.maxQueuedBytesTotal and mqtt.maxQueuedBytes) and each connection\'s unsent bytes (bounds mqtt.maxConnectionBuffer). The fixed part of the process (Node\'s code, Outpost\'s, thread stacks: about 90-100 MiB of RSS when idle) comes on top. The main thread\'s young generation is held at the plan\'s semi-space size while running (8 MiB from 256 MiB on, 1 MiB below; past 2 MiB only while messages flow, so a connection storm runs at 2 MiB; unless node is given its own --max-semi-space-size); its old space is bounded only when node is started with the flag the hub logs at start (event memory.plan, `mainHeapFlags`) in NODE_OPTIONS (docs/benchmarks.md, "Memory budget"). A budget below what the configuration runs with (about 46 MiB plus 16 MiB per store shard) is refused at load.',
    flag: '--memory-budget',
    aliases: [alias('MemoryBudgetMB', (text) => (/^\s*\d+\s*$/.test(text) ? `${text.trim()}MiB` : text), 'Outpost\'s own, named in Azure\'s style (Azure\'s edge hub has no budget); whole numbers are MiB.')],
  }),
  maxConnectedClients: Int(10_000, { min: 1, max: 1_000_000 }, {
    description: 'Connections accepted at once across all listeners; further connections are refused with a clear reason.',
    aliases: [alias('MaxConnectedClients')],
  }),
  shutdownTimeout: Duration('30s', {
    description: 'On SIGTERM or SIGINT, time allowed to finish in-flight work and close connections before they are destroyed.',
    aliases: [alias('ShutdownWaitPeriod', seconds, 'Whole seconds.')],
  }),
  tls: Section('Server certificate and TLS versions for every TLS listener.', {
    certFile: OptionalPath({
      description: 'PEM file with the server certificate followed by its intermediates. Set together with tls.keyFile.',
      defaultNote: 'a development CA and server certificate generated into <dataDir>/certs',
    }),
    keyFile: OptionalPath({
      description: 'PEM file with the private key of tls.certFile.',
      defaultNote: 'generated with the development certificate',
    }),
    caFile: OptionalPath({
      description: 'PEM trust bundle handed to modules and clients to verify this gateway.',
      defaultNote: 'the last certificate of tls.certFile, or the development CA',
    }),
    clientCaFile: OptionalPath({
      description: 'PEM bundle of the CAs that sign device client certificates, for identities with X.509 CA authentication (`outpost identity add <id> --auth ca`). Devices with self-signed certificates need no CA; they are matched by thumbprint.',
      defaultNote: 'none: only self-signed (thumbprint) client certificates are accepted',
    }),
    protocols: EnumList(['tls1.2', 'tls1.3'], ['tls1.2', 'tls1.3'], {
      description: 'TLS versions accepted (comma-separated in the environment). Older versions are not supported.',
      aliases: [alias('SslProtocols', azureSslProtocols, 'Also accepts .NET names (Tls12, Tls13).')],
    }),
    sessionTicketLifetime: Duration('1h', {
      description:
        'TLS session resumption on the MQTT, AMQP and HTTPS (443, WebSocket) listeners: a device that reconnects within this time of its last full handshake presents its session ticket and skips the certificate exchange. The ticket key is kept in memory only (a restart starts a new one) and is replaced every period, which also ends every ticket issued under it; 0s turns tickets off (every handshake is a full one). docs/security.md says what it trades.',
    }),
  }),
  routes: Json(Type.Record(Type.String(), Type.Unknown()), {
    description:
      'Routes of a hub run alone (`outpost hub`), in the form of the deployment manifest\'s `$edgeHub` routes: name → route string or {route, priority, timeToLiveSecs}. When set, `outpost hub` takes its routes from here instead of the manifest, and applies edits of the config file without a restart; `outpost run` ignores it (the deployment decides). Every route is compiled at load; an error names the route and its position.',
    expects: 'a map of route name to a route string or {route, priority, timeToLiveSecs}',
    defaultNote: 'not set: the routes of the deployment manifest (agent.deployment)',
    check: checkRoutes,
  }),
  auth: Section('Authentication of devices and modules against the local identity registry (<dataDir>/identities), and the authorization policy of user topics.', {
    sasClockSkew: Duration('5m', {
      description: 'How long after its expiry (se) a SAS token is still accepted, to absorb clock differences between devices and the gateway.',
    }),
    tokenCacheSize: Int(20_000, { min: 0, max: 10_000_000 }, {
      description: 'Verified SAS tokens remembered until they expire, so reconnect storms skip the HMAC; 0 turns the cache off. The same bound applies to MQTT logins (client id, user name and token) remembered whole; a login remembered there is not kept as a token too.',
    }),
    policy: Json(Type.Union([Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())]), {
      description:
        'Authorization policy of the general broker\'s user topics for a hub run alone (`outpost hub`), in Azure\'s format: the `$edgeHub` `mqttBroker.authorizations` array, `{"authorizations": [...]}` or `{"statements": [...]}` (docs/identity.md). When set, it replaces the manifest\'s policy, and edits of the config file apply without a restart; `outpost run` ignores it (the deployment decides).',
      expects: 'a policy document: an array of statements {identities, allow?, deny?} or {"statements": [...]}',
      defaultNote: 'not set: the deployment manifest\'s mqttBroker.authorizations, else the default policy (registered identities may connect, no user topics)',
      check: checkPolicy,
    }),
  }),
  mqtt: Section('MQTT over TLS (the IoT Hub device and module dialect and the general broker); the limits apply to the plain listener too.', {
    ...listenerLeaves('MQTT', { port: 8883, enabledAlias: 'MqttSettings__Enabled', flag: '--mqtt-port' }),
    maxPacketSize: Bytes('256KiB', {
      description: 'Largest MQTT packet accepted; a larger one is refused from its header (MQTT 5 reason 0x95) and the connection closed.',
      aliases: [alias('MqttSettings__MaxInboundMessageSize')],
    }),
    receiveMaximum: Int(1024, { min: 1, max: 65_535 }, {
      description: 'QoS 1/2 PUBLISHes a client may have unacknowledged towards the hub (advertised to MQTT 5 clients as Receive Maximum).',
      aliases: [alias('MqttSettings__MaxPendingInboundAcknowledgements')],
    }),
    maxInflight: Int(1024, { min: 1, max: 65_535 }, {
      description: 'QoS 1/2 messages sent to one client and not yet acknowledged (also capped by the client\'s own Receive Maximum). A wide window keeps a subscriber at full speed: one message in flight caps it at one round trip per message.',
    }),
    maxQueuedMessages: Int(10_000, { min: 0, max: 10_000_000 }, {
      description: 'QoS 1/2 messages queued per session behind the in-flight window (offline persistent sessions included); when full, the oldest is dropped with a warning.',
    }),
    maxQueuedBytes: Bytes('16MiB', {
      description: 'Bytes (payload and topic) of the QoS 1/2 messages queued per session behind the in-flight window (offline persistent sessions included); when a new message would pass it, the oldest go, counted with a rate-limited warning; a message larger than this on its own is dropped.',
    }),
    maxQueuedBytesTotal: Bytes('256MiB', {
      description: 'Bytes queued across all sessions together (a message queued for several sessions counts once for each); when a new message would pass it, its own session\'s oldest messages go, or the message itself if that session holds too few. Bounds the broker\'s memory however many offline sessions there are. The upper bound: memoryBudget\'s share may be smaller.',
    }),
    maxSessionsPerIdentity: Int(1000, { min: 1, max: 10_000_000 }, {
      description: 'Persistent sessions (3.1.1 clean=false, MQTT 5 session expiry > 0), connected or waiting offline, that one identity may hold; every anonymous client counts as the same identity, and a device or module has one client id, so one session. A CONNECT that would open one more is refused (MQTT 5 reason 0x97 Quota exceeded; 3.1.1 return code 3).',
    }),
    maxConnectionBuffer: Bytes('1MiB', {
      description: 'Bytes written to one client and not yet taken by its socket; past this QoS 0 messages to it are dropped and QoS 1/2 wait in its queue, so a slow subscriber never stalls others. At most memoryBudget / 128.',
    }),
    maxKeepAlive: Duration('10m', {
      description: 'Longest keep-alive a client may ask for; MQTT 5 clients asking for more (or for none) are told this value (Server Keep Alive) and held to it. MQTT 3.1.1 clients keep what they asked for. Taken as at least 1 s and at most 65535 s (the protocol field).',
      aliases: [alias('MqttSettings__MaxKeepAliveTimeout')],
    }),
    maxSessionExpiry: Duration('7d', {
      description: 'Longest time a disconnected persistent session (and its queued messages) is kept.',
    }),
    topicAliasMaximum: Int(64, { min: 0, max: 65_535 }, {
      description: 'Topic aliases an MQTT 5 client may use towards the hub; also the most the hub assigns on messages to a client that announces a Topic Alias Maximum (the smaller of the two). 0 turns topic aliases off both ways.',
    }),
  }),
  mqttPlain: Section('Plain-TCP MQTT listener for local clients. Off by default; bound to loopback unless configured otherwise.', {
    enabled: Bool(false, {
      description: 'Serve MQTT without TLS. Setting mqttPlain.port (or --mqtt-plain-port) turns this on unless it is set explicitly.',
    }),
    host: Str('127.0.0.1', { description: 'Address the plain MQTT listener binds.' }),
    port: Port(1883, {
      description: 'TCP port of the plain MQTT listener; 0 picks a free port.',
      flag: '--mqtt-plain-port',
      implies: { 'mqttPlain.enabled': true },
    }),
    allowAnonymous: Bool(false, {
      description: 'For local development and conformance tests only: clients without credentials may connect to the plain listener and use user topics. Refused on a non-loopback host unless mqttPlain.forceAnonymous is set. Turns the plain listener on.',
      flag: '--allow-anonymous',
      implies: { 'mqttPlain.enabled': true },
    }),
    forceAnonymous: Bool(false, {
      description: 'Allow mqttPlain.allowAnonymous on a non-loopback address (anyone who can reach the port can then publish and subscribe).',
    }),
  }),
  amqp: Section('AMQP 1.0 over TLS: IoT Hub\'s AMQP device protocol (docs/amqp.md).', {
    ...listenerLeaves('AMQP', { port: 5671, enabledAlias: 'AmqpSettings__Enabled', portAlias: 'AmqpSettings__Port', flag: '--amqp-port' }),
    maxMessageSize: Bytes('1MiB', {
      description: 'Largest AMQP message a client may send (the links\' max-message-size; Azure\'s edge hub takes 1 MiB). A larger one is rejected and its link detached with amqp:link:message-size-exceeded, without buffering it.',
    }),
    idleTimeout: Duration('240s', {
      description: 'Idle time-out announced in the AMQP open (Azure\'s edge hub: 4 minutes); clients send empty frames more often, and a connection silent for twice this long is closed. 0 announces none.',
    }),
    linkCredit: Int(1000, { min: 1, max: 65_535 }, {
      description: 'Credit of each link a client sends telemetry or module output on: transfers it may have unsettled at once. Credit comes back as the store takes each message, so a slow store slows the sender instead of queueing in memory.',
    }),
  }),
  https: Section('HTTPS and WebSocket listener (MQTT and AMQP over WebSocket, health, the local API).', {
    enabled: Bool(true, { description: 'Serve HTTPS and WebSocket.', aliases: [alias('HttpSettings__Enabled')] }),
    host: OptionalStr({ description: 'Address the HTTPS listener binds.', defaultNote: 'all interfaces (IPv6 and IPv4)' }),
    // Not 443 by default: binding a port below 1024 needs root or CAP_NET_BIND_SERVICE, and
    // `npm start` must work for a new user on a machine where 443 is taken or not theirs.
    port: Port(8443, {
      description:
        'TCP port of the HTTPS listener; 0 picks a free port. The default, 8443, needs no privileges; a production gateway whose devices use the Azure IoT SDKs\' WebSocket transports (MQTT or AMQP over WebSocket, which always connect to 443) sets 443, which needs root or CAP_NET_BIND_SERVICE.',
      flag: '--https-port',
      aliases: [alias('HttpSettings__Port')],
    }),
    webSocket: Bool(true, {
      description:
        'Serve MQTT (subprotocol `mqtt`) and AMQP (subprotocol `AMQPWSB10`) over WebSocket at path /$iothub/websocket on this listener, as the Azure IoT SDKs\' MqttWs and AmqpWs transports use them (docs/websocket.md). Each protocol is served only while its own listener setting (mqtt.enabled, amqp.enabled) is on.',
    }),
    maxWebSocketMessageSize: Bytes('4MiB', {
      description:
        'Largest WebSocket message (all its frames together) accepted; a larger one closes that connection with close code 1009. A message is held whole before the protocol sees it, so this bounds the memory one reading connection can take; it must exceed mqtt.maxPacketSize (clients send a packet per message) and the largest AMQP transfer with its framing. 0 turns the limit off.',
    }),
  }),
  store: Section('Store-and-forward: routed messages are queued per endpoint in sharded RocksDB (docs/store.md).', {
    persistent: Bool(true, {
      description: 'Keep messages in RocksDB on disk; false keeps them in memory only (lost on restart).',
      aliases: [alias('UsePersistentStorage')],
    }),
    dir: OptionalPath({
      description: 'Directory of the message store.',
      aliases: [alias('StorageFolder')],
      defaultNote: '<dataDir>/store',
    }),
    shards: Int(0, { min: 0, max: 64 }, {
      description: 'Shards (each one worker thread and one RocksDB) a new store is created with; 0 means one per CPU core. An existing store keeps the count it was created with (store.json), because a source\'s shard must not change.',
    }),
    timeToLive: Duration('2h', {
      description: 'How long a routed message is kept for delivery when neither its route nor the deployment ($edgeHub storeAndForwardConfiguration.timeToLiveSecs) says; expired messages are never delivered.',
      aliases: [alias('storeAndForward__timeToLiveSecs', seconds, 'Whole seconds.')],
    }),
    cleanupInterval: Duration('10s', {
      description: 'Period of the sweep that removes expired messages from every queue (delivered or not, endpoint connected or not) and reclaims their space.',
      aliases: [alias('MessageCleanupIntervalSecs', seconds, 'Whole seconds.')],
    }),
    shardIdleStop: Duration('30s', {
      description: 'A shard with nothing on disk starts its worker thread and RocksDB with the first message routed to it, and a persistent shard with nothing queued stops them after this long without messages (about 10 MiB each; the next message starts it again, which takes about 80 ms on a 2-core machine). A store in memory starts its shards on first use and never stops them. 0s starts every shard with the hub and keeps it running.',
    }),
    maxSize: Bytes('8GiB', {
      description: 'Largest total of queued messages (keys and values, every copy). RocksDB adds up to about 4 × store.memtableSize per shard on disk (write-ahead log, memtables, deleted data until compaction).',
    }),
    fullPolicy: Enum(['refuse', 'dropOldest'], 'refuse', {
      description: 'At store.maxSize: `refuse` new messages (not acknowledged, MQTT 5 reason 0x97; the sender retries) or `dropOldest` queued messages to make room. Both are counted and logged (rate-limited).',
    }),
    minFreeDisk: Bytes('128MiB', {
      description: 'Free disk space kept under the store and the broker state: below it new routed messages are refused (OUTPOST_STORE_DISK_FULL), and so are publishes that would write broker state (retained, or for a persistent session: OUTPOST_BROKER_DISK_FULL), before RocksDB runs out of space; accepted again once space is back.',
    }),
    sync: Enum(['none', 'interval', 'batch'], 'interval', {
      description: 'Power-loss durability. Every acknowledged message is in the write-ahead log and survives a crash or kill -9; `interval` also fsyncs the log every store.syncInterval (power loss loses at most that window), `batch` fsyncs before acknowledging (group commit), `none` leaves it to the OS.',
    }),
    syncInterval: Duration('1s', { description: 'Period of the write-ahead-log fsync with store.sync `interval`.' }),
    memtableSize: Bytes('16MiB', {
      description: 'RocksDB write buffer per shard and for the broker state: memory per shard, and how much write-ahead log is replayed after a crash (which store.minFreeDisk must leave room for). The upper bound: memoryBudget\'s share may be smaller (docs/benchmarks.md, "Memory budget").',
    }),
    deliveryWindow: Int(1024, { min: 1, max: 65_535 }, {
      description: 'Messages in flight (sent, not yet acknowledged) per endpoint; with a round trip of a few milliseconds, the window bounds an endpoint\'s rate (1024 in 5 ms: 200k msg/s). Azure sends one at a time, which caps a module input near 20 msg/s.',
    }),
    ackTimeout: Duration('30s', {
      description: 'Time an endpoint has to acknowledge a message; after it, the unacknowledged messages are sent again (at least once) after a backoff.',
    }),
    retryInterval: Duration('100ms', { description: 'First retry delay for an endpoint that is not connected or lost messages; it doubles up to store.retryIntervalMax.' }),
    retryIntervalMax: Duration('2s', { description: 'Longest retry delay for an endpoint that is not connected.' }),
  }),
  metrics: Section('Prometheus metrics with Azure\'s edgeHub and edgeAgent names (docs/metrics.md).', {
    enabled: Bool(true, {
      description: 'Serve GET /metrics on the HTTPS listener, to callers with a SAS token of the edge device or one of its modules.',
      aliases: [alias('MetricsEnabled')],
    }),
    plain: Bool(false, {
      description: 'Also serve GET /metrics on plain HTTP without authentication (like Azure\'s port 9600), on metrics.host:metrics.port. Setting metrics.port turns this on unless it is set explicitly.',
    }),
    host: Str('127.0.0.1', { description: 'Address the plain metrics listener binds; anyone who can reach it reads every metric.' }),
    port: Port(9600, {
      description: 'TCP port of the plain metrics listener; 0 picks a free port.',
      flag: '--metrics-port',
      implies: { 'metrics.plain': true },
      aliases: [alias('Metrics__Listener__Port')],
    }),
  }),
  dashboard: Section('The live dashboard at /dashboard on the HTTPS listener (docs/dashboard.md).', {
    enabled: Bool(true, {
      description: 'Serve the dashboard at /dashboard on the HTTPS listener. It answers only a browser that signed in with the operator token in <dataDir>/dashboard.token (`outpost dashboard url` prints a sign-in link), or a request with `Authorization: Bearer <token>`.',
    }),
    interval: Duration('1s', { description: 'How often the dashboard\'s figures are read and pushed to open pages (only while a page is open).' }),
  }),
  telemetry: Section('Runtime quality telemetry: tagged metrics, anonymized, sent upstream as one message a day on the agent\'s identity (docs/telemetry.md).', {
    enabled: Bool(true, {
      description: 'Collect the metrics tagged ms_telemetry into <dataDir>/telemetry and send them, with device, module and host names removed or hashed, as one device-to-cloud message from <deviceId>/$edgeAgent every telemetry.uploadInterval (routed like any module message; it leaves only through a route to $upstream). false sends nothing and keeps nothing.',
      aliases: [alias('SendRuntimeQualityTelemetry')],
    }),
    scrapeInterval: Duration('1h', {
      description: 'How often the tagged metrics are read into the persisted aggregate (<dataDir>/telemetry/aggregate.json); also read once when the process stops.',
      aliases: [alias('MetricScrapeInterval', undefined, '.NET TimeSpan text (01:00:00) or a duration.')],
    }),
    uploadInterval: Duration('24h', {
      description: 'How often the aggregate is sent as one message and started again. The period is kept across restarts: a restart does not put the next message off.',
      aliases: [alias('MetricUploadInterval', undefined, '.NET TimeSpan text (1.00:00:00) or a duration.')],
    }),
  }),
  upstream: Section('The link to the IoT hub or a parent gateway (docs/upstream.md): `$upstream` is sent there over one AMQP connection (or the protocol upstream.protocol names).', {
    hostname: OptionalStr({
      description: 'Host name of the parent Outpost (or gateway) this edge device sends `$upstream` to (over upstream.protocol). Unset: no upstream link, and `$upstream` messages wait in the store until their time to live.',
      flag: '--upstream-hostname',
      aliases: [alias('IOTEDGE_PARENTHOSTNAME')],
      defaultNote: 'none (no upstream link)',
    }),
    protocol: Enum(['Amqp', 'AmqpWs', 'Mqtt', 'MqttWs'], 'Amqp', {
      description: 'How this edge device speaks to its parent: Amqp (one TLS connection on upstream.port, every identity multiplexed), AmqpWs (the same AMQP connection inside a WebSocket to upstream.webSocketPort, path /$iothub/websocket, subprotocol AMQPWSB10), Mqtt (one MQTT/TLS connection per identity on upstream.mqttPort, as Azure) or MqttWs (those MQTT connections over WebSocket on upstream.webSocketPort). docs/upstream.md says what each carries.',
      aliases: [alias('UpstreamProtocol')],
    }),
    port: Port(5671, { description: 'AMQP/TLS port of the parent (upstream.protocol Amqp).', flag: '--upstream-port' }),
    webSocketPort: Port(443, { description: 'HTTPS port of the parent whose /$iothub/websocket serves AMQP and MQTT over WebSocket (upstream.protocol AmqpWs and MqttWs).' }),
    mqttPort: Port(8883, { description: 'MQTT/TLS port of the parent (upstream.protocol Mqtt).' }),
    caFile: OptionalPath({
      description: "PEM file of the CA(s) the parent's server certificate chains to (the parent's <dataDir>/certs CA, or its root).",
      defaultNote: "Node's default trusted CAs",
    }),
    connectionString: OptionalStr({
      description: 'This edge device\'s own credentials for the parent: `HostName=…;DeviceId=…;SharedAccessKey=…` (DeviceId must be deviceId), or its `$edgeHub` module\'s (`…;ModuleId=$edgeHub;…`, what IoT Hub expects an edge hub to sign with). Never logged. The link signs with it for this edge device, its modules and the devices below it (on behalf of them, with `com.microsoft:auth-chain`). With the `$edgeHub` key, the edge device itself (its own telemetry) and the MQTT bridge, which connect as the device, cannot be signed for.',
      defaultNote: "this edge device's SAS key in the local identity registry",
    }),
    httpsPort: Port(443, { description: "HTTPS port of the parent, where the device scope is fetched (`/devices/{deviceId}/modules/$edgeHub/devicesAndModulesInDeviceScope`): an Outpost parent's https.port." }),
    scopeRefreshInterval: Duration('1h', { description: 'How often the device scope (the identities below this edge device, with their keys) is fetched again from the parent, besides each time the upstream link connects. Azure: DeviceScopeCacheRefreshRateSecs (3600).' }),
    tokenTtl: Duration('1h', { description: 'Lifetime of the SAS tokens the upstream link signs for each identity; each is renewed on the same connection after three quarters of it.' }),
    reconnectMin: Duration('1s', { description: 'First delay before reconnecting to the parent after a failed attempt; it doubles up to upstream.reconnectMax.' }),
    reconnectMax: Duration('60s', { description: 'Longest delay between two full reconnection attempts. Meanwhile a TCP probe every upstream.probeInterval notices the parent coming back and reconnects at once.' }),
    probeInterval: Duration('250ms', { description: 'While the parent is unreachable, how often a bare TCP connect checks whether it is back (a success triggers a reconnection at once, whatever the backoff).' }),
    idleTimeout: Duration('30s', { description: 'AMQP idle timeout asked of the parent: a connection silent for longer (a cut cable, a frozen parent) is closed and reconnected.' }),
    minTwinSyncPeriod: Duration('120s', {
      description: 'Shortest time between two re-pulls of one client\'s twin from the parent when its twin links attach again (a reconnect). A reconnect sooner than that defers the re-pull to the end of the period; a client\'s own twin GET always asks the parent.',
      aliases: [alias('MinTwinSyncPeriodSecs', seconds, 'Whole seconds.')],
    }),
    twinGetTimeout: Duration('10s', {
      description: 'How long a client\'s twin GET waits for the parent\'s twin before it is answered from the copy here (also at once when the link is down).',
    }),
    maxBatchSize: Int(10, { min: 1, max: 10_000 }, {
      description: 'Most messages of one identity sent upstream in one batched AMQP transfer (message-format 0x80013700), and at most 256 KiB per batch; 1 sends one transfer per message.',
      aliases: [alias('MaxUpstreamBatchSize')],
    }),
    deliveryWindow: Int(1024, { min: 1, max: 65_535 }, {
      description: 'Messages in flight to the parent (handed to the upstream link, not yet settled by it) for the `$upstream` endpoint, in place of store.deliveryWindow; twice as many are kept loaded ahead. The parent settles a message once its own store has it, so a backlog drains at most at this window per round trip. Measured on the 2-core machine, one identity: 1024 drains at 54-56k msg/s on a quiet machine (45-51k under load), and 2048 or 4096 were no faster (the CPU of the two hubs holds it there) at 55-78 MiB more peak RSS on the parent (docs/benchmarks.md, "Upstream"). Raise it for a parent far away (a round trip of tens of milliseconds), where memory allows.',
    }),
    fanOutFactor: Int(100, { min: 1, max: 1_000 }, {
      description: 'Most client identities with messages in flight to the parent at once; the others wait their turn (an identity gives its slot up when its transfers are settled and others wait). Azure names it UpstreamFanOutFactor with a default of 10; the default here is 100, because on one multiplexed connection, whose delivery window already bounds what is in flight, 10 identities at a time hold a backlog of many identities to about 10 transfers per round trip. Measured on the 2-core machine with both hubs on it: 100 identities drained at 34-35k msg/s with 10 and 44-56k with 100 (52-56k on a quiet machine), 1,000 identities at 18k and 37-43k (docs/benchmarks.md, "Upstream"). Set it to 10 to send as Azure does.',
      aliases: [alias('UpstreamFanOutFactor')],
    }),
  }),
  bridge: Section('The MQTT bridge to the parent\'s broker, when the deployment has `$edgeHub` mqttBroker.bridges (docs/bridge.md). It connects to upstream.hostname with upstream.caFile and upstream.connectionString, and reconnects like the upstream link.', {
    port: Port(8883, { description: "MQTT/TLS port of the parent's broker that the bridge connects to (the parent's mqtt.port)." }),
  }),
  agent: Section('The edge agent.', {
    runtime: Enum(['process', 'docker'], 'process', {
      description: 'Module runtime: supervised OS processes, or containers through a Docker Engine API (Docker, Moby, podman).',
      flag: '--runtime',
    }),
    dockerSocket: Path('/var/run/docker.sock', { description: 'Unix socket of the Docker Engine API, for the docker runtime.' }),
    deployment: OptionalPath({
      description: 'Deployment manifest (JSON) the agent applies at start.',
      flag: '--deployment',
      defaultNote: 'the embedded default manifest (deployment/default.json): two sample modules as processes, routed to each other and upstream',
    }),
    restartBackoffBase: Duration('10s', {
      description: 'Unit of the restart backoff: a module that exits (or turns unhealthy) under a restart policy that covers it is restarted after min(base × 2^restarts, restartBackoffMax).',
      aliases: [alias('CoolOffTimeUnitInSeconds', seconds, 'Whole seconds.')],
    }),
    restartBackoffMax: Duration('5m', {
      description: 'Longest wait between two restarts of a failing module.',
    }),
    maxRestartCount: Int(0, { min: 0, max: 1_000_000 }, {
      description: 'Restarts after which a failing module is left failed until its deployment changes or `outpost restart` is run; 0 never gives up (Azure gives up after 20).',
      aliases: [alias('MaxRestartCount')],
    }),
    healthyResetAfter: Duration('10m', {
      description: 'Time a module must run (and stay healthy) before its restart count and backoff start again from zero.',
      aliases: [alias('IntensiveCareTimeInMinutes', (text) => (/^\s*\d+\s*$/.test(text) ? `${text.trim()}m` : text), 'Whole minutes.')],
    }),
    stopTimeout: Duration('30s', {
      description: 'Time a module has to exit after SIGTERM (docker: the stop timeout) before it is killed.',
    }),
    reconcileInterval: Duration('30s', {
      description: 'Period of the safety reconcile; module exits, health changes, deployments and backoff deadlines trigger one at once.',
    }),
    onShutdown: Enum(['auto', 'stop-modules', 'leave-running'], 'auto', {
      description: 'What happens to modules when the agent stops: `auto` stops process modules and leaves containers running (as Azure does); a restarted agent adopts modules left running.',
    }),
    processLogMaxSize: Bytes('10MiB', {
      description: 'Process runtime: size at which a module\'s log file (<dataDir>/agent/processes/<module>.log) is rotated to <module>.log.1.',
    }),
  }),
});

/** The schema's decoded shape: durations in milliseconds, sizes in bytes, paths absolute. */
export type DecodedConfig = StaticDecode<typeof ConfigSchema>;

/** The configuration every component receives: computed defaults are filled in by the loader. */
export type OutpostConfig = Omit<DecodedConfig, 'gatewayHostname' | 'store'> & {
  readonly gatewayHostname: string;
  readonly store: Omit<DecodedConfig['store'], 'dir'> & { readonly dir: string };
};

