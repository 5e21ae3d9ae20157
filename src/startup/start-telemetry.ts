import type { OutpostConfig } from '../config/index.js';
import type { OutpostError } from '../errors/index.js';
import type { MessageStore } from '../hub/store/index.js';
import type { Logger } from '../log/index.js';
import type { MetricsRegistry } from '../metrics/index.js';
import { RuntimeQualityTelemetry } from '../telemetry/index.js';
import { VERSION } from '../version.js';

/**
 * Runtime quality telemetry (docs/telemetry.md), after the agent so its metrics are registered. It
 * stops first (closers run in order), while the store can still take nothing more from it.
 */
export function startTelemetry(config: OutpostConfig, metrics: MetricsRegistry | undefined, store: MessageStore, rootLogger: Logger, closers: (() => Promise<void> | void)[]): void {
  const logger = rootLogger.child({ component: 'telemetry' });
  if (!config.telemetry.enabled || metrics === undefined) {
    logger.info({ event: 'telemetry.disabled' }, 'runtime quality telemetry is off (telemetry.enabled=false): nothing is collected or sent');
    return;
  }
  let telemetry: RuntimeQualityTelemetry;
  try {
    telemetry = RuntimeQualityTelemetry.start({
      registry: metrics,
      sink: store,
      dataDir: config.dataDir,
      deviceId: config.deviceId,
      iotHubHostname: config.iotHubHostname,
      gatewayHostname: config.gatewayHostname,
      scrapeIntervalMs: config.telemetry.scrapeInterval,
      uploadIntervalMs: config.telemetry.uploadInterval,
      version: VERSION,
      logger,
    });
  } catch (error) {
    // Files that cannot be written cost the telemetry, never the hub (as for the dashboard's token).
    logger.error({ event: 'telemetry.unavailable', code: (error as OutpostError).code ?? 'OUTPOST_INTERNAL', err: error }, 'runtime quality telemetry cannot keep its files; it is off until the next start');
    return;
  }
  closers.unshift(() => telemetry.stop());
}
