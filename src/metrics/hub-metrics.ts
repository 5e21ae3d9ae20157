import type { Authenticator, AuthResult, ConnectCredentials } from '../hub/auth/index.js';
import type { ClientLink } from '../hub/core/index.js';
import type { HubMessage } from '../hub/message/index.js';
import type { MethodObserver } from '../hub/methods/index.js';
import type { RouteEndpoint } from '../hub/routing/index.js';
import type { StoreObserver } from '../hub/store/index.js';
import type { TwinObserver } from '../hub/twin/index.js';
import { LATENCY_SECONDS, MESSAGE_BYTES, OFFLINE_SECONDS, QUEUE_SECONDS, WORKER_SECONDS } from './buckets.js';
import type { Counter, Gauge, Histogram, HistogramSeries, ValueSeries } from './metric-family.js';
import type { MetricsRegistry } from './metrics-registry.js';
import { SenderCache } from './sender-cache.js';

/** Azure sets `ms_telemetry="True"` on the metrics its runtime-quality telemetry may send. */
export const MS_TELEMETRY = { ms_telemetry: 'True' } as const;

/** What one message's sender updates when its message is written. */
interface ReceivedSeries {
  readonly received: ValueSeries;
  readonly size: HistogramSeries;
  readonly noRoute: ValueSeries;
}

/** What one acknowledged copy updates, per sender, endpoint and priority. */
interface SentSeries {
  readonly sent: ValueSeries;
  readonly sendSeconds: HistogramSeries;
  readonly queueSeconds: HistogramSeries;
}

/**
 * The edge hub's metrics under Azure's names (edgehub_…, docs/metrics.md), and the observers the
 * hub's parts call: the store (messages written and delivered), twins, methods, authentication
 * and the connected-clients registry. Gauges and Outpost's own counters are read at scrape time
 * (OutpostMetrics). Per message: see `accepted` and `delivered`.
 */
export class HubMetrics implements StoreObserver, TwinObserver, MethodObserver {
  readonly messagesReceived: Counter;
  readonly messagesSent: Counter;
  readonly messageSize: Histogram;
  readonly messageSendDuration: Histogram;
  readonly messageProcessDuration: Histogram;
  readonly messagesDropped: Counter;
  readonly messagesUnack: Counter;
  readonly queueLength: Gauge;
  readonly connectedClients: Gauge;
  readonly connectSuccess: Counter;
  readonly connectFailed: Counter;
  readonly disconnects: Counter;
  readonly getTwin: Counter;
  readonly offlineCount: Counter;
  readonly offlineDuration: Histogram;
  readonly getTwinDuration: Histogram;
  readonly reportedProperties: Counter;
  readonly reportedDuration: Histogram;
  readonly directMethods: Counter;
  readonly directMethodDuration: Histogram;
  readonly workerRoundTrip: Histogram;
  readonly routeEvaluations: Counter;
  readonly routedCopies: Counter;
  private readonly received: SenderCache<ReceivedSeries>;
  private readonly sent = new Map<RouteEndpoint, Map<number, SenderCache<SentSeries>>>();
  private readonly roundTripByShard: HistogramSeries[] = [];
  private readonly evaluated: ValueSeries;
  private readonly copies: ValueSeries;

  constructor(
    registry: MetricsRegistry,
    /** The edge device id: a module input's `to` is `{edge}/{module}`, as Azure names the module. */
    private readonly edgeDeviceId: string,
  ) {
    this.messagesReceived = registry.counter({ name: 'edgehub_messages_received_total', help: 'Messages received from clients (written to the store)', labelNames: ['route_output', 'id'] });
    this.messagesSent = registry.counter({ name: 'edgehub_messages_sent_total', help: 'Messages sent from edge hub (acknowledged by the endpoint)', labelNames: ['from', 'to', 'from_route_output', 'to_route_input', 'priority'], fixedLabels: MS_TELEMETRY });
    this.messageSize = registry.histogram({ name: 'edgehub_message_size_bytes', help: 'Size of message bodies received from clients', labelNames: ['id'], buckets: MESSAGE_BYTES, note: 'Azure: summary. Here a histogram: same `_sum` and `_count`; quantiles with `histogram_quantile()`.' });
    this.messageSendDuration = registry.histogram({ name: 'edgehub_message_send_duration_seconds', help: 'Time taken to send a message (from the send to its acknowledgement)', labelNames: ['from', 'to', 'from_route_output', 'to_route_input'], buckets: LATENCY_SECONDS, note: 'Azure: summary.' });
    this.messageProcessDuration = registry.histogram({ name: 'edgehub_message_process_duration_seconds', help: 'Time taken to process message in EdgeHub (time in the store before its send)', labelNames: ['from', 'to', 'priority'], fixedLabels: MS_TELEMETRY, buckets: QUEUE_SECONDS, note: 'Azure: summary.' });
    this.messagesDropped = registry.counter({
      name: 'edgehub_messages_dropped_total',
      help: 'Messages dropped: no route chose them (no_route) or their time to live passed before delivery (ttl_expiry)',
      labelNames: ['reason', 'from', 'from_route_output'],
      fixedLabels: MS_TELEMETRY,
      note: 'For `ttl_expiry`, `from` and `from_route_output` are empty: expiry removes queue entries in the store without reading them.',
    });
    this.messagesUnack = registry.counter({ name: 'edgehub_messages_unack_total', help: 'Messages not acknowledged to their sender because the store could not take them', labelNames: ['reason', 'from', 'from_route_output'], note: '`from` and `from_route_output` are empty (the refusal is counted per batch). Covers store full, disk full and write failures.' });
    this.queueLength = registry.gauge({ name: 'edgehub_queue_length', help: 'Messages queued for an endpoint, per priority', labelNames: ['endpoint', 'priority'], note: '`endpoint` is the endpoint id: `$upstream` or `/modules/<module>/inputs/<input>`. Read from the store at scrape time; unlike Azure (issue #7437) it never counts delivered or expired messages.' });
    this.connectedClients = registry.gauge({ name: 'edgehub_connected_clients', help: 'Devices and modules connected to the edge hub', labelNames: [] });
    this.connectSuccess = registry.counter({ name: 'edgehub_client_connect_success_total', help: 'Devices and modules that authenticated successfully', labelNames: ['id'] });
    this.connectFailed = registry.counter({ name: 'edgehub_client_connect_failed_total', help: 'Connection attempts refused by authentication', labelNames: ['id', 'reason', 'protocol'], fixedLabels: MS_TELEMETRY, note: '`id` is the client id the client sent (not verified). `reason` is always `not_authenticated`, as in Azure.' });
    this.disconnects = registry.counter({ name: 'edgehub_client_disconnect_total', help: 'Device and module connections that closed', labelNames: ['id'] });
    this.offlineCount = registry.counter({ name: 'edgehub_offline_count_total', help: 'EdgeHub offline count (times the upstream link went down)', labelNames: ['id'], note: 'Counted when the upstream link to the parent is lost, or its first connection fails; no series until then (a hub without upstream.hostname has none).' });
    this.offlineDuration = registry.histogram({ name: 'edgehub_offline_duration_seconds', help: 'EdgeHub offline time (how long the upstream link stayed down)', labelNames: ['id'], buckets: OFFLINE_SECONDS, note: 'Azure: summary. Observed when the link is back.' });
    this.getTwin = registry.counter({ name: 'edgehub_gettwin_total', help: 'Get twin calls', labelNames: ['source', 'id'], fixedLabels: MS_TELEMETRY, note: '`source` is `edge_hub` (the hub answers from its own twin store), as Azure labels a twin served locally.' });
    this.getTwinDuration = registry.histogram({ name: 'edgehub_gettwin_duration_seconds', help: 'Time taken to get twin', labelNames: ['source', 'id'], buckets: LATENCY_SECONDS, note: 'Azure: summary.' });
    this.reportedProperties = registry.counter({ name: 'edgehub_reported_properties_total', help: 'Reported properties update calls', labelNames: ['target', 'id'], fixedLabels: MS_TELEMETRY, note: '`target` is `edge_hub`.' });
    this.reportedDuration = registry.histogram({ name: 'edgehub_reported_properties_update_duration_seconds', help: 'Time taken to update reported properties', labelNames: ['target', 'id'], buckets: LATENCY_SECONDS, note: 'Azure: summary.' });
    this.directMethods = registry.counter({ name: 'edgehub_direct_methods_total', help: 'Direct method calls', labelNames: ['from', 'to'], note: '`from` is the calling module (`device/module`) or `operator` for `outpost method`.' });
    this.directMethodDuration = registry.histogram({ name: 'edgehub_direct_method_duration_seconds', help: 'Time taken to call direct method', labelNames: ['from', 'to'], buckets: LATENCY_SECONDS, note: 'Azure: summary.' });
    this.workerRoundTrip = registry.histogram({ name: 'outpost_store_worker_round_trip_seconds', help: 'Time from posting an append batch to a store shard worker to its answer (queueing, routing, the RocksDB write)', labelNames: ['shard'], buckets: WORKER_SECONDS });
    this.routeEvaluations = registry.counter({ name: 'outpost_route_evaluations_total', help: 'Messages evaluated against the route table', labelNames: [] });
    this.routedCopies = registry.counter({ name: 'outpost_routed_copies_total', help: 'Copies the routes put in endpoint queues (one per message and endpoint chosen)', labelNames: [] });
    this.evaluated = this.routeEvaluations.series();
    this.copies = this.routedCopies.series();
    this.received = new SenderCache((id, output) => ({
      received: this.messagesReceived.series(output, id),
      size: this.messageSize.series(id),
      noRoute: this.messagesDropped.series('no_route', id, output),
    }));
  }

  /** Per message written: one cached sender lookup, two counter increments and one histogram observation. */
  accepted(message: HubMessage, copies: number): void {
    const sp = message.systemProperties;
    const series = this.received.get(sp.connectionDeviceId ?? '', sp.connectionModuleId ?? '', sp.outputName ?? '');
    series.received.value += 1;
    series.size.observe(message.body.byteLength);
    if (copies === 0) series.noRoute.value += 1;
  }

  /** Per acknowledged copy: two Map lookups, one cached sender lookup, one increment, two histogram observations. */
  delivered(endpoint: RouteEndpoint, priority: number, message: HubMessage, sentAtMs: number, ackedAtMs: number): void {
    let byPriority = this.sent.get(endpoint);
    if (byPriority === undefined) this.sent.set(endpoint, (byPriority = new Map()));
    let cache = byPriority.get(priority);
    if (cache === undefined) byPriority.set(priority, (cache = this.sentCache(endpoint, priority)));
    const sp = message.systemProperties;
    const series = cache.get(sp.connectionDeviceId ?? '', sp.connectionModuleId ?? '', sp.outputName ?? '');
    series.sent.value += 1;
    series.sendSeconds.observe(Math.max(0, ackedAtMs - sentAtMs) / 1000);
    series.queueSeconds.observe(Math.max(0, sentAtMs - message.enqueuedAtMs) / 1000);
  }

  /** Per append batch. */
  batchWritten(shard: number, messages: number, copies: number, roundTripMs: number): void {
    const series = (this.roundTripByShard[shard] ??= this.workerRoundTrip.series(String(shard)));
    series.observe(roundTripMs / 1000);
    this.evaluated.value += messages;
    this.copies.value += copies;
  }

  /** The upstream link went down (or could not connect at first); once per outage. */
  wentOffline(): void {
    this.offlineCount.series(this.hubId).value += 1;
  }

  /** The upstream link is back after `seconds` down. */
  backOnline(seconds: number): void {
    this.offlineDuration.series(this.hubId).observe(seconds);
  }

  /** The edge hub's own identity, Azure's `id` label of its offline metrics. */
  private get hubId(): string {
    return `${this.edgeDeviceId}/$edgeHub`;
  }

  gotTwin(twinId: string, seconds: number): void {
    this.getTwin.series('edge_hub', twinId).value += 1;
    this.getTwinDuration.series('edge_hub', twinId).observe(seconds);
  }

  reportedUpdated(twinId: string, seconds: number): void {
    this.reportedProperties.series('edge_hub', twinId).value += 1;
    this.reportedDuration.series('edge_hub', twinId).observe(seconds);
  }

  invoked(from: string, to: string, seconds: number): void {
    this.directMethods.series(from, to).value += 1;
    this.directMethodDuration.series(from, to).observe(seconds);
  }

  /** A connection of a device or module closed (ConnectedClients.onRemoved). */
  clientRemoved(link: ClientLink): void {
    this.disconnects.series(link.identity).value += 1;
  }

  /** Wraps the authenticator every transport calls: successes and refusals are counted once per CONNECT. */
  countingAuthenticator(inner: Authenticator): Authenticator {
    return {
      authenticate: (credentials) => {
        const result = inner.authenticate(credentials);
        if (result instanceof Promise) return result.then((settled) => this.authenticated(credentials, settled));
        return this.authenticated(credentials, result);
      },
    };
  }

  private authenticated(credentials: ConnectCredentials, result: AuthResult): AuthResult {
    if (result.ok) {
      const identity = result.identity;
      if (identity.kind === 'device') this.connectSuccess.series(identity.deviceId).value += 1;
      else if (identity.kind === 'module') this.connectSuccess.series(`${identity.deviceId}/${identity.moduleId}`).value += 1;
    } else {
      this.connectFailed.series(credentials.clientId, 'not_authenticated', credentials.protocol).value += 1;
    }
    return result;
  }

  private sentCache(endpoint: RouteEndpoint, priority: number): SenderCache<SentSeries> {
    const to = endpoint.kind === 'upstream' ? 'upstream' : `${this.edgeDeviceId}/${endpoint.moduleId}`;
    const input = endpoint.kind === 'upstream' ? '' : endpoint.inputName;
    // Routes without a priority carry DEFAULT_PRIORITY, the number Azure reports for them too.
    const priorityLabel = String(priority);
    return new SenderCache((from, output) => ({
      sent: this.messagesSent.series(from, to, output, input, priorityLabel),
      sendSeconds: this.messageSendDuration.series(from, to, output, input),
      queueSeconds: this.messageProcessDuration.series(from, to, priorityLabel),
    }));
  }
}
