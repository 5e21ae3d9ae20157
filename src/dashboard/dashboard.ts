import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReportedProperties } from '../agent/index.js';
import type { OutpostError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { dashboardRoute } from './dashboard-route.js';
import { DashboardSampler, type DashboardSources } from './dashboard-sampler.js';
import { DashboardStream } from './dashboard-stream.js';
import { DashboardToken } from './dashboard-token.js';
import { StaticAssets } from './static-assets.js';

/** Shortest interval between two samples, whatever dashboard.interval says. */
const MIN_INTERVAL_MS = 250;

export interface DashboardOptions {
  readonly sources: Omit<DashboardSources, 'modules'>;
  /** The agent's status when no agent runs in this process (its control socket). */
  readonly modules: () => Promise<ReportedProperties | undefined>;
  readonly intervalMs: number;
  readonly logger: Logger;
}

/**
 * The live dashboard (docs/dashboard.md): the HTTPS handler for /dashboard, the event stream
 * and the operator token. `close()` ends open pages before the HTTPS listener drains.
 */
export class Dashboard {
  readonly token: DashboardToken;
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  private readonly stream: DashboardStream;
  private modules: () => Promise<ReportedProperties | undefined>;

  constructor(options: DashboardOptions) {
    this.token = new DashboardToken(options.sources.dataDir);
    // A token exists from the first start, so `outpost dashboard url` only reads it. Without one
    // the hub still starts; the dashboard then refuses everyone until the CLI writes a token.
    try {
      this.token.ensure();
    } catch (error) {
      const failed = error as OutpostError;
      options.logger.error({ event: 'dashboard.token_unavailable', code: failed.code, file: this.token.file, err: error }, failed.message);
    }
    this.modules = options.modules;
    const sampler = new DashboardSampler({ ...options.sources, modules: () => this.modules() });
    this.stream = new DashboardStream(sampler, Math.max(MIN_INTERVAL_MS, options.intervalMs), options.logger);
    this.handler = dashboardRoute({ token: this.token, assets: new StaticAssets(), stream: this.stream, logger: options.logger });
  }

  /** The agent runs in this process: its status is read directly. */
  readModulesFrom(modules: () => ReportedProperties | undefined): void {
    this.modules = () => Promise.resolve(modules());
  }

  get openPages(): number {
    return this.stream.openStreams;
  }

  close(): void {
    this.stream.close();
  }
}
