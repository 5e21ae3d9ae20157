import { mkdirSync } from 'node:fs';
import { OutpostError, type ErrorCode } from '../../errors/index.js';
import { RateLimitedLog, type Logger } from '../../log/index.js';
import type { EndpointTarget, MessageSink } from '../endpoints/index.js';
import { freeBytesUnder } from '../free-space.js';
import type { HubMessage } from '../message/index.js';
import { describeRejected, RouteCompilerPool, type CompiledRouteTableData, type RouteEndpoint } from '../routing/index.js';
import { EndpointDispatcher, type DispatchContext, type DispatcherDescription } from './endpoint-dispatcher.js';
import type { EndpointStream, StoredEntry } from './endpoint-stream.js';
import { entryMessage, readEntryHeader } from './entry-header.js';
import { unpackFrames } from './frames.js';
import { ShardClient } from './shard-client.js';
import type { QueueRef } from './queue-id.js';
import type { AppendResult, HeadAdvance, OpenResult, QueueInfo, ShardConfig } from './shard-protocol.js';
import { shardOf } from './source-shard.js';
import { openLayout, shardDir } from './store-layout.js';
import { newStoreMetrics, type StoreMetrics } from './store-metrics.js';
import { defaultShardCount, readAheadFor, type StoreOptions } from './store-options.js';
import { aggregateStats, type StoreStats } from './store-stats.js';
import type { StoreObserver } from './store-observer.js';

/** Routes as the deployment's $edgeHub desired properties hold them. */
export interface StoreRoutes {
  readonly routes: unknown;
  readonly schemaVersion?: string;
  /** storeAndForwardConfiguration.timeToLiveSecs; undefined: store.timeToLive. */
  readonly timeToLiveSecs?: number;
}

const DISK_CHECK_MS = 1_000;
const DISK_CHECK_BYTES = 1024 * 1024;
const READ_PAGE_BYTES = 4 * 1024 * 1024;
/** dropOldest frees down to this share of store.maxSize, so it does not run for every message. */
const DROP_TO = 0.9;

/**
 * Store-and-forward (docs/store.md): the MessageSink behind every protocol adapter. A message goes
 * to the shard of its source, where routes are evaluated and every routed copy is written in one
 * RocksDB batch; `submit` resolves after that write, so the adapter acknowledges only what is in
 * the write-ahead log. Per endpoint, a dispatcher delivers from the queues of every shard with a
 * window of messages in flight and moves a durable checkpoint as acknowledgements come back.
 */
export class MessageStore implements MessageSink {
  readonly metrics: StoreMetrics = newStoreMetrics();
  private readonly dispatchers = new Map<string, EndpointDispatcher>();
  /** The dispatcher of each queue (an endpoint has one queue per priority). */
  private readonly queueOwners = new Map<string, EndpointDispatcher>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly warn: RateLimitedLog;
  private readonly context: DispatchContext;
  private target: EndpointTarget | undefined;
  private observer: StoreObserver | undefined;
  private clients: ShardClient[] = [];
  private defaultTtlSec: number;
  private diskFull = false;
  /** Bytes accepted since free space was last looked at (a burst can fill a disk within a second). */
  private bytesSinceDiskCheck = 0;
  private dropping = false;
  /** A compaction of what was trimmed is under way in the shards (the disk is under the reserve). */
  private reclaimingTrimmed = false;
  private closing: Promise<void> | undefined;
  private table: CompiledRouteTableData = { routes: [], rejected: [] };

  private constructor(
    private readonly options: StoreOptions,
    private readonly logger: Logger,
    private readonly compiler: RouteCompilerPool,
  ) {
    this.defaultTtlSec = options.defaultTtlSec;
    this.warn = new RateLimitedLog(logger);
    this.context = {
      window: options.deliveryWindow,
      readAhead: options.readAhead,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
      target: () => this.target,
      requestRead: (stream) => this.read(stream),
      requestRevive: (stream, source, fromSeq) => this.revive(stream, source, fromSeq),
      commit: (stream) => {
        const commit = stream.takeCommit();
        if (commit !== undefined) this.clients[stream.shard]?.commit(commit);
      },
      counted: (event, endpoint, count) => this.counted(event, endpoint, count),
      delivered: (endpoint, priority, message, sentAtMs) => this.observer?.delivered(endpoint, priority, message, sentAtMs, Date.now()),
    };
  }

  static async open(options: StoreOptions, routes: StoreRoutes, logger: Logger): Promise<MessageStore> {
    const startedMs = Date.now();
    let shards = options.shards === 0 ? defaultShardCount() : options.shards;
    if (options.persistent) {
      const { layout, changed } = openLayout(options.dir, shards);
      if (changed) logger.warn({ event: 'store.shards_fixed', configured: shards, shards: layout.shards }, 'the store keeps the shard count it was created with');
      shards = layout.shards;
    }
    let heapLimit: number | undefined;
    const store = new MessageStore(options, logger, new RouteCompilerPool(options.compilerLimits === undefined ? {} : { resourceLimits: options.compilerLimits }));
    try {
      const table = await store.compile(routes);
      const opened = await Promise.all(
        Array.from({ length: shards }, (_, shard) =>
          ShardClient.open(store.shardConfig(shard, table), options, {
            appended: (client, messages, result, roundTripMs) => store.appended(client, messages, result, roundTripMs),
            failed: (client, count, error) => store.failed(client, count, error),
            started: (client, result, openMs) => store.shardStarted(client, result, openMs),
            stopped: (client, idleMs, error) => {
              if (error === undefined) logger.info({ event: 'store.shard_stopped', shard: client.shard, idleMs: Math.round(idleMs) }, 'store shard stopped its thread: nothing queued');
              else logger.warn({ event: 'store.shard_stop_failed', shard: client.shard, err: error }, 'closing an idle store shard failed; its next message opens it again');
            },
          }),
        ),
      );
      store.clients = opened.map((o) => o.client);
      heapLimit = opened[0]?.opened.heapLimitBytes;
      store.table = table;
      for (const [shard, { opened: result }] of opened.entries()) for (const queue of result.queues) store.queueStream(queue, shard, queue);
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error instanceof OutpostError ? error : new OutpostError('OUTPOST_STORE_OPEN_FAILED', `message store ${options.dir}: ${String(error)}`, { cause: error });
    }
    store.startTimers();
    const queued = store.clients.reduce((n, c) => n + c.totals.liveCount, 0);
    const workerHeapLimitMb = heapLimit === undefined ? undefined : Math.round(heapLimit / (1024 * 1024));
    const running = store.runningShards;
    logger.info({ event: 'store.opened', persistent: options.persistent, dir: options.persistent ? options.dir : undefined, shards, running, workerHeapLimitMb, queued, endpoints: store.dispatchers.size, openMs: Date.now() - startedMs }, 'message store open');
    return store;
  }

  /** Where routed messages are delivered (module inputs through the hub core: src/hub/endpoints). */
  attach(target: EndpointTarget): void {
    this.target = target;
    for (const dispatcher of this.dispatchers.values()) dispatcher.schedule();
  }

  /** An endpoint is available again (the upstream link is back): deliver to it now, not after its backoff. */
  retryNow(endpointId: string): void {
    this.dispatchers.get(endpointId)?.retryNow();
  }

  /** Metrics of messages as they are written and delivered (src/metrics). */
  observe(observer: StoreObserver): void {
    this.observer = observer;
  }

  get shardCount(): number {
    return this.clients.length;
  }

  /** Shards whose worker thread runs now (store.shardIdleStop leaves the others cold). */
  get runningShards(): number {
    let running = 0;
    for (const client of this.clients) if (client.started) running++;
    return running;
  }

  submit(message: HubMessage): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new OutpostError('OUTPOST_STORE_CLOSED', 'the message store is shutting down'));
    if (this.diskFull) return this.refuse('OUTPOST_STORE_DISK_FULL', `less than ${this.options.minFreeDiskBytes} bytes free under ${this.options.dir}`);
    const live = this.liveBytes();
    if (live >= this.options.maxSizeBytes) {
      if (this.options.fullPolicy === 'refuse') return this.refuse('OUTPOST_STORE_FULL', `the store holds ${live} bytes (store.maxSize ${this.options.maxSizeBytes})`);
      this.dropOldest(live - this.options.maxSizeBytes * DROP_TO);
    }
    const client = this.clients[shardOf(message, this.clients.length)]!;
    const before = client.pendingBytes;
    const written = client.submit(message);
    if (this.options.persistent) {
      this.bytesSinceDiskCheck += client.pendingBytes - before;
      if (this.bytesSinceDiskCheck >= DISK_CHECK_BYTES) this.checkDisk();
    }
    return written;
  }

  /** A new deployment: compiles the routes off the main thread and swaps them on every shard. */
  async replaceRoutes(routes: StoreRoutes): Promise<void> {
    const table = await this.compile(routes);
    await Promise.all(this.clients.map((client) => client.setRoutes(table, this.defaultTtlSec)));
    this.table = table;
  }

  /** The routes in force (and those rejected), as compiled: for diagnostics (the dashboard). */
  get routes(): CompiledRouteTableData {
    return this.table;
  }

  async stats(): Promise<StoreStats> {
    const nowMs = Date.now();
    const shards = await Promise.all(this.clients.map((client) => client.stats(nowMs)));
    const stats = aggregateStats(this.options.persistent, this.options.persistent ? this.options.dir : undefined, shards, nowMs);
    const endpoints = stats.endpoints.map((e) => {
      const dispatcher = this.dispatchers.get(e.endpoint);
      return dispatcher === undefined ? e : { ...e, inflight: dispatcher.inflightCount, retrying: dispatcher.retrying };
    });
    return { ...stats, endpoints, metrics: { ...this.metrics } };
  }

  /** Each endpoint's delivery state (window, backoff, streams), for diagnostics: computed on demand, nothing per message. */
  deliveryState(): DispatcherDescription[] {
    return [...this.dispatchers.values()].map((d) => d.describe());
  }

  /**
   * Runs one expiry sweep now (the timer runs it every store.cleanupInterval). A shard scans a
   * bounded number of entries per task and is asked again while it has more, so a large expired
   * backlog never holds up the appends queued behind it for long.
   */
  async expireNow(): Promise<void> {
    const nowMs = Date.now();
    await Promise.all(
      this.clients.map(async (client) => {
        for (let more = true; more && this.closing === undefined; ) {
          const result = await client.expire(nowMs, this.options.expireScanLimit);
          this.advanced(client, result.advances, 'expired');
          more = result.more;
        }
      }),
    );
  }

  /** Compacts every shard now (tests and tools; the sweep does it when disk use warrants). */
  async reclaimNow(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.reclaim()));
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const dispatcher of this.dispatchers.values()) {
      dispatcher.close();
      for (const stream of dispatcher.streams) this.context.commit(stream);
    }
    const results = await Promise.allSettled(this.clients.map((client) => client.close()));
    await this.compiler.close();
    for (const result of results) {
      if (result.status === 'rejected') this.logger.error({ event: 'store.close_failed', err: result.reason }, 'a store shard did not close cleanly');
    }
    this.logger.info({ event: 'store.closed', metrics: this.metrics }, 'message store closed');
  }

  private appended(client: ShardClient, messages: readonly HubMessage[], result: AppendResult, roundTripMs: number): void {
    this.metrics.accepted += messages.length;
    this.metrics.noRoute += result.noRoute;
    const observer = this.observer;
    observer?.batchWritten(client.shard, messages.length, result.offsets[messages.length]!, roundTripMs);
    // Streams of the batch's queues in this shard, looked up once per batch.
    const streams = result.queues.map((queue) => this.queueStream(queue, client.shard));
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      if (observer !== undefined) observer.accepted(message, result.offsets[i + 1]! - result.offsets[i]!);
      for (let j = result.offsets[i]!; j < result.offsets[i + 1]!; j++) {
        streams[result.targets[j]!]!.offer(result.seqs[j]!, result.expires[j]!, result.cums[j]!, message);
      }
    }
    for (const queue of result.queues) this.queueOwners.get(queue.id)!.schedule();
  }

  private shardStarted(client: ShardClient, opened: OpenResult, openMs: number): void {
    const heapLimit = opened.heapLimitBytes;
    this.logger.info({ event: 'store.shard_started', shard: client.shard, running: this.runningShards, workerHeapLimitMb: heapLimit === undefined ? undefined : Math.round(heapLimit / (1024 * 1024)), openMs: Math.round(openMs) }, 'store shard started its thread');
  }

  private failed(client: ShardClient, count: number, failure: OutpostError): void {
    if (failure.code === 'OUTPOST_STORE_DISK_FULL') {
      this.metrics.refusedDiskFull += count;
      this.diskFull = true;
    } else if (failure.code !== 'OUTPOST_STORE_CLOSED') this.metrics.refusedWriteFailed += count;
    this.warn.warn(`refused:${failure.code}`, { event: 'store.message_refused', code: failure.code, shard: client.shard, messages: count, err: failure }, failure.message);
  }

  private advanced(client: ShardClient, advances: readonly HeadAdvance[], reason: 'expired' | 'dropped'): void {
    for (const advance of advances) {
      const dispatcher = this.queueOwners.get(advance.queueId);
      const stream = dispatcher?.queueStreams(advance.queueId)?.[client.shard];
      if (dispatcher === undefined || stream === undefined) continue;
      // Entries the main thread had already counted as done (and not yet checkpointed) are not new;
      // parked ones (below the window, above the checkpoint) are.
      const removed = Math.max(0, advance.head - stream.doneUpTo) + (stream.parkedTotal > 0 ? stream.parkedBelow(advance.head) : 0);
      dispatcher.headAdvanced(stream, advance.head, advance.cumHead);
      if (removed > 0) this.counted(reason, dispatcher.endpoint, removed);
    }
  }

  /** The stream of a queue in one shard (its endpoint's dispatcher made on first sight). */
  private queueStream(ref: QueueRef, shard: number, opened?: QueueInfo): EndpointStream {
    let dispatcher = this.queueOwners.get(ref.id);
    if (dispatcher === undefined) {
      dispatcher = this.dispatchers.get(ref.endpoint.id);
      if (dispatcher === undefined) {
        // The parent settles upstream messages from its own store: a longer round trip, so a window of its own (upstream.deliveryWindow).
        const upstreamWindow = this.options.upstreamWindow;
        const context = ref.endpoint.kind === 'upstream' && upstreamWindow !== undefined ? { ...this.context, window: upstreamWindow, readAhead: readAheadFor(upstreamWindow) } : this.context;
        dispatcher = new EndpointDispatcher(ref.endpoint, this.clients.length, context);
        this.dispatchers.set(ref.endpoint.id, dispatcher);
      }
      this.queueOwners.set(ref.id, dispatcher);
    }
    const stream = dispatcher.stream(ref.id, ref.priority, shard, opened);
    if (opened !== undefined) dispatcher.schedule();
    return stream;
  }

  private read(stream: EndpointStream): void {
    stream.reading = this.readPage(
      stream,
      stream.loadedUpTo,
      (firstSeq, entries) => stream.loadPage(firstSeq, entries),
      () => (stream.reading = false),
    );
  }

  /** Reads back parked entries of `source` (endpoint-stream.ts, parking) from `fromSeq`. */
  private revive(stream: EndpointStream, source: string, fromSeq: number): void {
    stream.reviving = this.readPage(
      stream,
      fromSeq,
      (firstSeq, entries, dispatcher) => {
        const gone = stream.revivePage(source, fromSeq, firstSeq, entries);
        if (gone > 0) this.counted('expired', dispatcher.endpoint, gone);
      },
      () => (stream.reviving = false),
    );
  }

  /**
   * Reads a page of a stream's queue from `fromSeq` and hands it to `loaded`, then pumps; a failed
   * read is logged (rate-limited), `failed` clears the caller's flag and the pump tries again after
   * retryMax. False when the stream has no shard or endpoint (nothing was asked for).
   */
  private readPage(stream: EndpointStream, fromSeq: number, loaded: (firstSeq: number, entries: StoredEntry[], dispatcher: EndpointDispatcher) => void, failed: () => void): boolean {
    const client = this.clients[stream.shard];
    const dispatcher = this.queueOwners.get(stream.queueId);
    if (client === undefined || dispatcher === undefined) return false;
    client.read(stream.queueId, fromSeq, stream.readAhead, READ_PAGE_BYTES).then(
      (page) => {
        loaded(page.firstSeq, storedEntries(page.frames), dispatcher);
        dispatcher.schedule();
      },
      (error: unknown) => {
        failed();
        this.warn.warn(`read:${stream.shard}`, { event: 'store.read_failed', shard: stream.shard, endpoint: dispatcher.endpoint.id, priority: stream.priority, err: error }, 'reading a queue page failed; retrying');
        setTimeout(() => dispatcher.schedule(), this.options.retryMaxMs).unref();
      },
    );
    return true;
  }

  private counted(event: 'delivered' | 'expired' | 'dropped' | 'undeliverable' | 'corrupt' | 'redelivered' | 'timeout', endpoint: RouteEndpoint, count: number): void {
    const m = this.metrics;
    if (event === 'delivered') m.delivered += count;
    else if (event === 'expired') m.expired += count;
    else if (event === 'dropped') m.dropped += count;
    else if (event === 'redelivered') m.redelivered += count;
    else if (event === 'undeliverable') {
      m.undeliverable += count;
      this.warn.warn(`undeliverable:${endpoint.id}`, { event: 'store.message_undeliverable', code: 'OUTPOST_STORE_UNDELIVERABLE', endpoint: endpoint.id }, 'a message can never be delivered to this endpoint; removed from its queue');
    } else if (event === 'corrupt') {
      m.undeliverable += count;
      this.warn.warn(`corrupt:${endpoint.id}`, { event: 'store.message_corrupt', code: 'OUTPOST_STORE_MESSAGE_CORRUPT', endpoint: endpoint.id }, 'a queued message read back from the store does not decode; removed from its queue');
    } else {
      m.ackTimeouts += count;
      this.warn.warn(`timeout:${endpoint.id}`, { event: 'store.delivery_timeout', code: 'OUTPOST_STORE_DELIVERY_TIMEOUT', endpoint: endpoint.id, messages: count, ackTimeoutMs: this.options.ackTimeoutMs }, 'endpoint did not acknowledge in time; messages will be sent again');
    }
  }

  private refuse(code: ErrorCode, message: string): Promise<never> {
    if (code === 'OUTPOST_STORE_FULL') this.metrics.refusedStoreFull += 1;
    else this.metrics.refusedDiskFull += 1;
    this.warn.warn(`refused:${code}`, { event: 'store.message_refused', code, refusedStoreFull: this.metrics.refusedStoreFull, refusedDiskFull: this.metrics.refusedDiskFull }, message);
    return Promise.reject(new OutpostError(code, message));
  }

  private liveBytes(): number {
    let total = 0;
    for (const client of this.clients) total += client.totals.liveBytes + client.pendingBytes;
    return total;
  }

  private dropOldest(excessBytes: number): void {
    if (this.dropping || excessBytes <= 0) return;
    this.dropping = true;
    const live = this.clients.reduce((n, c) => n + c.totals.liveBytes, 0) || 1;
    const before = this.metrics.dropped;
    void Promise.all(
      this.clients.map(async (client) => {
        const share = Math.ceil((excessBytes * client.totals.liveBytes) / live);
        if (share <= 0) return;
        const result = await client.drop(share);
        this.advanced(client, result.advances, 'dropped');
      }),
    )
      .catch((error: unknown) => this.logger.error({ event: 'store.drop_failed', err: error }, 'dropping the oldest messages failed'))
      .finally(() => {
        this.dropping = false;
        this.warn.warn('dropped', { event: 'store.messages_dropped', code: 'OUTPOST_STORE_MESSAGES_DROPPED', dropped: this.metrics.dropped - before, droppedTotal: this.metrics.dropped, maxSizeBytes: this.options.maxSizeBytes }, 'store full: the oldest messages were dropped');
      });
  }

  private startTimers(): void {
    const every = (ms: number, fn: () => void) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.cleanupIntervalMs, () => {
      this.expireNow().catch((error: unknown) => this.warn.warn('expire', { event: 'store.expire_failed', err: error }, 'expiry sweep failed'));
    });
    const ackCheckMs = Math.max(50, Math.min(1_000, Math.floor(this.options.ackTimeoutMs / 4)));
    every(ackCheckMs, () => {
      const nowMs = Date.now();
      for (const dispatcher of this.dispatchers.values()) dispatcher.checkTimeouts(nowMs, this.options.ackTimeoutMs);
    });
    if (this.options.persistent) {
      this.checkDisk();
      every(DISK_CHECK_MS, () => this.checkDisk());
    }
    const idleStopMs = this.options.shardIdleStopMs ?? 0;
    if (this.options.persistent && idleStopMs > 0) {
      // Looked at a few times per idle period, so a shard stops within 1.25 of it.
      every(Math.max(50, Math.floor(idleStopMs / 4)), () => {
        if (this.closing !== undefined) return;
        const nowMs = Date.now();
        for (const client of this.clients) client.stopIfIdle(nowMs);
      });
    }
  }

  /**
   * Refuses new messages below store.minFreeDisk. While under it, also compacts what deliveries and
   * expiry trimmed since the last look: deleted entries only free space once compacted, and the
   * size-based reclaim (ShardCore.maybeReclaim) may never trigger on a volume that is small
   * beside its memtables, which kept the store refusing with its backlog long gone (issue 14).
   */
  private checkDisk(reclaim = true): void {
    this.bytesSinceDiskCheck = 0;
    const freeBytes = freeBytesUnder(this.options.dir);
    if (freeBytes === undefined) return;
    const full = freeBytes < this.options.minFreeDiskBytes;
    if (full !== this.diskFull) {
      if (full) this.logger.error({ event: 'store.disk_full', code: 'OUTPOST_STORE_DISK_FULL', freeBytes, minFreeDiskBytes: this.options.minFreeDiskBytes, dir: this.options.dir }, 'disk almost full: refusing new messages');
      else this.logger.info({ event: 'store.disk_ok', freeBytes }, 'disk space is back: accepting messages');
    }
    this.diskFull = full;
    if (full && reclaim) this.reclaimTrimmed();
  }

  private reclaimTrimmed(): void {
    if (this.reclaimingTrimmed || this.closing !== undefined) return;
    this.reclaimingTrimmed = true;
    Promise.all(this.clients.map((client) => client.reclaimTrimmed()))
      .catch((error: unknown) => this.warn.warn('reclaim', { event: 'store.reclaim_failed', err: error }, 'compacting freed space failed; retrying at the next disk check'))
      .finally(() => {
        this.reclaimingTrimmed = false;
        // Space may be back now: accept again without waiting for the next timer tick.
        if (this.closing === undefined) this.checkDisk(false);
      });
  }

  private async compile(routes: StoreRoutes): Promise<CompiledRouteTableData> {
    if (routes.timeToLiveSecs !== undefined) this.defaultTtlSec = routes.timeToLiveSecs;
    const table = await this.compiler.compile(routes.routes ?? {}, routes.schemaVersion);
    for (const rejected of table.rejected) {
      this.logger.error({ event: 'store.route_rejected', code: rejected.error.code, route: rejected.name }, describeRejected(rejected));
    }
    this.logger.info({ event: 'store.routes_loaded', routes: table.routes.map((r) => r.name), rejected: table.rejected.length, timeToLiveSecs: this.defaultTtlSec }, 'routes loaded');
    return table;
  }

  private shardConfig(shard: number, routes: CompiledRouteTableData): ShardConfig {
    const o = this.options;
    if (o.persistent) mkdirSync(shardDir(o.dir, shard), { recursive: true });
    return {
      shard,
      dir: o.persistent ? shardDir(o.dir, shard) : undefined,
      memtableBytes: o.memtableBytes,
      ...(o.blockCache === undefined ? {} : { blockCache: o.blockCache }),
      ...(o.native === undefined ? {} : { native: o.native }),
      sync: o.sync,
      syncIntervalMs: o.syncIntervalMs,
      reclaimIntervalMs: o.reclaimIntervalMs,
      routes,
      defaultTtlSec: this.defaultTtlSec,
    };
  }
}

/** A page read back from a shard as the stream's entries: each still encoded, with its header's fields. */
function storedEntries(frames: Parameters<typeof unpackFrames>[0]): StoredEntry[] {
  return unpackFrames(frames).map((value) => {
    const header = readEntryHeader(value);
    return { expiresAtMs: header.expiresAtMs, cum: header.cumulativeBytes, bytes: entryMessage(value) };
  });
}
