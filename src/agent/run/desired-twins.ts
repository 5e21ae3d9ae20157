import { OutpostError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { DeploymentStatus, DesiredSection } from '../manifest/index.js';
import { reportedPatch } from './reported-properties.js';

/** The twins of this edge device's system modules, as IoT Hub names them. */
export type SystemModule = '$edgeAgent' | '$edgeHub';

/**
 * The twins an agent managed from above reads its deployment from and writes its status into:
 * `<edge>/$edgeAgent` and `<edge>/$edgeHub` in this hub's twin store, which the upstream relay
 * keeps in step with the parent (desired down, reported up). The composition root backs it with
 * the hub's TwinService; the agent knows nothing else of the hub.
 */
export interface DesiredTwins {
  /** The desired section now, with its `$version`. */
  desired(module: SystemModule): Promise<DesiredSection>;
  /** The reported section now (without `$version`): what the first report is a difference from. */
  reported(module: SystemModule): Promise<Record<string, unknown>>;
  /** Calls `listener` after every change of either twin's desired section. */
  onDesiredChanged(listener: () => void): void;
  /** Merges a reported patch; rejects with an OutpostError when the store refuses or fails. */
  patchReported(module: SystemModule, patch: Record<string, unknown>): Promise<void>;
}

/**
 * Writes reports into a twin's reported section as JSON merge patches, one at a time in order:
 * each the difference from what was last written (the first from what the twin held at start,
 * so keys of a previous run that are gone are removed). As Azure's agent, an empty difference
 * sends nothing; a failed write is logged and the next report carries it again.
 */
export class TwinReporter {
  private written: Record<string, unknown> | undefined;
  private latest: Record<string, unknown> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly twins: DesiredTwins,
    private readonly module: SystemModule,
    private readonly logger: Logger,
  ) {}

  report(properties: Record<string, unknown>): void {
    this.latest = properties;
    this.chain = this.chain.then(() => this.write());
  }

  /** Resolves once every report so far is written (or failed). */
  flushed(): Promise<void> {
    return this.chain;
  }

  private async write(): Promise<void> {
    const next = this.latest;
    if (next === undefined) return;
    try {
      this.written ??= await this.twins.reported(this.module);
      const patch = fitForTwin(reportedPatch(this.written, next));
      if (Object.keys(patch).length === 0) return;
      await this.twins.patchReported(this.module, patch);
      this.written = next;
    } catch (thrown) {
      const error = thrown instanceof OutpostError ? thrown : new OutpostError('OUTPOST_AGENT_TWIN_REPORT_FAILED', String(thrown), { cause: thrown });
      this.logger.warn({ event: 'agent.twin_report_failed', code: error.code, module: this.module, err: error }, 'cannot write the reported properties into the twin; the next report tries again');
    }
  }
}

/** IoT Hub's longest twin string value (UTF-8 bytes); a longer one would have the whole patch refused. */
const MAX_TWIN_STRING_BYTES = 4096;
const SHORTENED_CHARS = 1000;

/**
 * The patch with every string a twin cannot hold shortened (a status description listing many
 * problems): the full text is in the agent's log and `<dataDir>/agent/reported.json`.
 */
function fitForTwin(value: Record<string, unknown>): Record<string, unknown> {
  const fit = (item: unknown): unknown => {
    if (typeof item === 'string') return Buffer.byteLength(item, 'utf8') > MAX_TWIN_STRING_BYTES ? `${item.slice(0, SHORTENED_CHARS)}… (shortened; the agent's log has it whole)` : item;
    if (Array.isArray(item)) return item.map(fit);
    if (typeof item === 'object' && item !== null) return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, fit(inner)]));
    return item;
  };
  return fit(value) as Record<string, unknown>;
}

/** The `$edgeHub` reported status of a deployment from above (Azure's EdgeHubConnection writes these keys). */
export function hubReported(version: string, hubVersion: number, status: DeploymentStatus): Record<string, unknown> {
  return { schemaVersion: '1.0', version: { version, build: '', commit: '' }, lastDesiredVersion: hubVersion, lastDesiredStatus: { code: status.code, description: status.description } };
}
