import type { Logger } from '../../log/index.js';
import type { PendingReported, TwinProperties, TwinService } from '../twin/index.js';
import { ReportedOutbox } from './reported-outbox.js';

export interface ReportedOutboxesOptions {
  readonly twins: TwinService;
  readonly logger: Logger;
  /** A patch reported here was queued in `twinId`'s outbox (once the stored ones are read). */
  readonly queued: (twinId: string) => void;
  /** The stored outboxes are read (`twinIds` had patches waiting): the relay may start. */
  readonly loaded: (twinIds: readonly string[]) => void;
}

/**
 * The reported-patch outboxes of every twin relayed to the upstream, for either relay (AMQP links
 * or MQTT connections): from start, every accepted reported patch is also kept in the twin's
 * stored outbox (TwinService.keepReportedForUpstream). The patches a previous run answered and the
 * parent had not taken go first, in order, read from the twins at start; patches reported while
 * they are read wait and follow, unless the read already had them.
 */
export class ReportedOutboxes {
  private readonly byTwin = new Map<string, ReportedOutbox>();
  private ready = false;
  private early: Array<[string, TwinProperties, number, TwinProperties]> = [];

  constructor(private readonly options: ReportedOutboxesOptions) {
    options.twins.keepReportedForUpstream();
    options.twins.onReported((twinId, patch, version, section) => this.reported(twinId, patch, version, section));
    void this.load();
  }

  /** Whether the stored outboxes are read (nothing should be relayed before: their patches go first). */
  get loaded(): boolean {
    return this.ready;
  }

  /** `twinId`'s outbox (made empty on first use). */
  of(twinId: string): ReportedOutbox {
    let outbox = this.byTwin.get(twinId);
    if (outbox === undefined) this.byTwin.set(twinId, (outbox = new ReportedOutbox()));
    return outbox;
  }

  private async load(): Promise<void> {
    const { twins, logger } = this.options;
    let pending = new Map<string, readonly PendingReported[]>();
    try {
      pending = await twins.pendingReported();
    } catch (error) {
      logger.error({ event: 'upstream.outbox_read_failed', code: 'OUTPOST_TWIN_STORE_FAILED', err: error }, 'the stored reported patches for the parent cannot be read; only new ones are sent');
    }
    const lastRead = new Map<string, number>();
    let patches = 0;
    for (const [twinId, entries] of pending) {
      const outbox = this.of(twinId);
      for (const entry of entries) outbox.add(entry.patch, entry.version, { from: entry.from });
      lastRead.set(twinId, entries[entries.length - 1]!.version);
      patches += entries.length;
    }
    if (patches > 0) logger.info({ event: 'upstream.outbox_loaded', twins: pending.size, patches }, 'reported patches not yet taken by the parent before the restart will be sent');
    this.ready = true;
    for (const [twinId, patch, version, section] of this.early.splice(0)) if (version > (lastRead.get(twinId) ?? -1)) this.reported(twinId, patch, version, section);
    this.options.loaded([...pending.keys()]);
  }

  private reported(twinId: string, patch: TwinProperties, version: number, section: TwinProperties): void {
    if (!this.ready) {
      this.early.push([twinId, patch, version, section]);
      return;
    }
    this.of(twinId).add(patch, version, { section });
    this.options.queued(twinId);
  }
}
