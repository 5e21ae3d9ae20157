import { randomUUID } from 'node:crypto';
import { OutpostError } from '../errors/index.js';
import type { MessageSink } from '../hub/endpoints/index.js';
import type { Logger } from '../log/index.js';
import type { MetricsRegistry } from '../metrics/index.js';
import { adoptInstance, freshAggregate, recordScrape, startPeriod, type AggregateState } from './telemetry-aggregate.js';
import { TelemetryAnonymizer, hostIdentifyingValues } from './telemetry-anonymizer.js';
import { TelemetryFiles } from './telemetry-files.js';
import { buildReport, encodeReport, telemetryMessage } from './telemetry-report.js';
import { taggedSamples } from './tagged-samples.js';

/** Shorter intervals would make collection a busy loop; tests use seconds. */
export const MIN_INTERVAL_MS = 1_000;
/** setTimeout's longest delay; a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RuntimeQualityTelemetryOptions {
  readonly registry: MetricsRegistry;
  /** The hub's message store: the message is routed from there (to $upstream by the routes). */
  readonly sink: MessageSink;
  readonly dataDir: string;
  readonly deviceId: string;
  readonly iotHubHostname: string;
  readonly gatewayHostname: string;
  readonly scrapeIntervalMs: number;
  readonly uploadIntervalMs: number;
  readonly version: string;
  readonly logger: Logger;
}

/**
 * Azure's MetricsWorker for Outpost (docs/telemetry.md): every scrape interval the metrics tagged
 * `ms_telemetry` are read, anonymized and added to the aggregate in <dataDir>/telemetry; every
 * upload interval the aggregate becomes one message from `<deviceId>/$edgeAgent`, handed to the
 * hub's store like any module's message, and a new period starts. The period's start is kept in
 * the aggregate, so restarts neither lose what was collected nor put the next message off.
 *
 * One step (scrape or upload) runs at a time; each writes the aggregate before the next.
 */
export class RuntimeQualityTelemetry {
  private readonly instanceId = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private nextScrapeAtMs: number;
  /** After a failed send: when to try again (the period is not over until a message is taken). */
  private retryAtMs: number | undefined;

  private constructor(
    private readonly options: RuntimeQualityTelemetryOptions,
    private readonly files: TelemetryFiles,
    private readonly anonymizer: TelemetryAnonymizer,
    private readonly state: AggregateState,
    private readonly scrapeIntervalMs: number,
    private readonly uploadIntervalMs: number,
  ) {
    this.nextScrapeAtMs = Date.now() + scrapeIntervalMs;
  }

  /** Reads or makes the salt and the aggregate and schedules the work; throws OutpostError when the files cannot be written. */
  static start(options: RuntimeQualityTelemetryOptions): RuntimeQualityTelemetry {
    const { logger } = options;
    const files = new TelemetryFiles(options.dataDir);
    const { salt } = files.salt();
    const loaded = files.loadAggregate();
    if (loaded.corrupt !== undefined) {
      logger.error({ event: 'telemetry.aggregate_corrupt', code: loaded.corrupt.code, file: files.aggregateFile, reason: loaded.corrupt.details?.reason }, loaded.corrupt.message);
    }
    const nowMs = Date.now();
    const scrapeIntervalMs = Math.max(MIN_INTERVAL_MS, options.scrapeIntervalMs);
    const uploadIntervalMs = Math.max(MIN_INTERVAL_MS, options.uploadIntervalMs);
    const anonymizer = new TelemetryAnonymizer(salt, { deviceId: options.deviceId, iotHubHostname: options.iotHubHostname, gatewayHostname: options.gatewayHostname, ...hostIdentifyingValues() });
    const telemetry = new RuntimeQualityTelemetry(options, files, anonymizer, loaded.state ?? freshAggregate('', nowMs), scrapeIntervalMs, uploadIntervalMs);
    telemetry.begin(nowMs, loaded.state === undefined);
    return telemetry;
  }

  /** When the current period's message is due (ms since the epoch). */
  get uploadDueAtMs(): number {
    return this.retryAtMs ?? this.state.periodStartMs + this.uploadIntervalMs;
  }

  /** Stops the timers, then reads the counters once more so what this process counted since the last scrape is kept. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    try {
      // No collectors here: the tagged families are counted in place, and the parts that
      // collectors read may already be closing.
      recordScrape(this.state, taggedSamples(this.options.registry, this.anonymizer), Date.now());
      this.files.saveAggregate(this.state);
    } catch (error) {
      this.reportFailure('telemetry.save_failed', error);
    }
  }

  private begin(nowMs: number, fresh: boolean): void {
    if (fresh) this.state.instanceId = this.instanceId;
    else adoptInstance(this.state, this.instanceId);
    // A clock set back by more than a period would put the message off for that long.
    if (this.state.periodStartMs > nowMs) this.state.periodStartMs = nowMs;
    this.files.saveAggregate(this.state);
    this.options.logger.info(
      { event: 'telemetry.started', scrapeIntervalMs: this.scrapeIntervalMs, uploadIntervalMs: this.uploadIntervalMs, nextUpload: new Date(this.uploadDueAtMs).toISOString(), file: this.files.aggregateFile },
      'runtime quality telemetry on (opt out with telemetry.enabled=false or SendRuntimeQualityTelemetry=false)',
    );
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, Math.min(this.nextScrapeAtMs, this.uploadDueAtMs) - Date.now()));
    this.timer = setTimeout(() => {
      this.running = this.step().finally(() => this.schedule());
    }, delayMs);
    // The hub's listeners keep the process alive; this timer must not on its own.
    this.timer.unref();
  }

  private async step(): Promise<void> {
    const nowMs = Date.now();
    try {
      if (nowMs >= this.uploadDueAtMs) await this.upload(nowMs);
      else if (nowMs >= this.nextScrapeAtMs) await this.scrape(nowMs);
    } catch (error) {
      this.reportFailure('telemetry.step_failed', error);
    }
    if (nowMs >= this.nextScrapeAtMs) this.nextScrapeAtMs = nowMs + this.scrapeIntervalMs;
  }

  private async scrape(nowMs: number): Promise<void> {
    await this.options.registry.collect();
    recordScrape(this.state, taggedSamples(this.options.registry, this.anonymizer), nowMs);
    this.files.saveAggregate(this.state);
    this.options.logger.debug({ event: 'telemetry.scraped', scrapes: this.state.scrapes, series: Object.keys(this.state.series).length }, 'tagged metrics added to the telemetry aggregate');
  }

  private async upload(nowMs: number): Promise<void> {
    await this.scrape(nowMs);
    const report = buildReport(this.state, nowMs, this.options.version);
    if (report.metrics.length === 0) {
      // As Azure's uploader: nothing happened that a tagged metric counts, so nothing is sent.
      this.options.logger.info({ event: 'telemetry.nothing_to_send', scrapes: this.state.scrapes }, 'no tagged metric changed during the period; no telemetry message');
      this.newPeriod(nowMs);
      return;
    }
    const body = encodeReport(report);
    try {
      await this.options.sink.submit(telemetryMessage(this.options.deviceId, body, nowMs));
    } catch (error) {
      this.retryAtMs = nowMs + this.scrapeIntervalMs;
      const cause = error instanceof OutpostError ? error.code : undefined;
      const failure = new OutpostError('OUTPOST_TELEMETRY_SEND_FAILED', 'the store did not take the runtime quality telemetry message; it is kept and sent again', { details: { cause }, cause: error });
      this.options.logger.warn({ event: 'telemetry.send_failed', code: failure.code, cause, retryAt: new Date(this.retryAtMs).toISOString() }, failure.message);
      return;
    }
    this.options.logger.info(
      { event: 'telemetry.sent', bytes: body.byteLength, series: report.metrics.length, omittedSeries: report.omittedSeries, scrapes: report.period.scrapes, periodStart: report.period.start },
      'runtime quality telemetry message handed to routing (from $edgeAgent)',
    );
    this.newPeriod(nowMs);
  }

  private newPeriod(nowMs: number): void {
    this.retryAtMs = undefined;
    startPeriod(this.state, nowMs);
    this.files.saveAggregate(this.state);
  }

  private reportFailure(event: string, error: unknown): void {
    const code = error instanceof OutpostError ? error.code : 'OUTPOST_INTERNAL';
    this.options.logger.error({ event, code, err: error }, error instanceof Error ? error.message : String(error));
  }
}
