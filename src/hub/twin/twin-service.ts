import type { Logger } from '../../log/index.js';
import type { MessageSink } from '../endpoints/index.js';
import { twinChangeMessage, type TwinChange } from './twin-change-message.js';
import { appendFolded, diffPatch, mergePatch, type FoldedPatch } from './twin-patch.js';
import type { PendingReported, TwinRecord, TwinStore } from './twin-store.js';
import { emptyTwin, IotHubErrorCode, TwinStatus, type DesiredNotification, type StoredTwin, type TwinFailure, type TwinGetResult, type TwinPatchResult, type TwinProperties, type TwinSection } from './twin-types.js';
import { sectionBytes, TwinLimits, validateTwinPatch } from './validate-twin-patch.js';

/**
 * Called with a desired-properties patch for a subscribed client; returns true when the patch was
 * handed to the client (its connection took it), false when it could not be.
 */
export type DesiredListener = (notification: DesiredNotification) => boolean;

/**
 * Asks the upstream for a twin's desired section (with `$version`); undefined when it cannot say
 * in time (no link, slow, refused): the copy here answers then.
 */
export type UpstreamTwinGet = (twinId: string) => Promise<TwinProperties | undefined>;

/** Told of every accepted reported patch once durable, per twin in the order applied (the upstream relay). */
export type ReportedListener = (twinId: string, patch: TwinProperties, version: number, section: TwinSection) => void;

export interface TwinServiceOptions {
  readonly store: TwinStore;
  readonly logger: Logger;
  /** Where twin change notifications go (routing: `FROM /twinChangeNotifications`). */
  readonly sink?: MessageSink;
  /** IoT Hub name for the notifications' `hubName` (the first label of the IoT Hub host name). */
  readonly hubName: string;
  readonly now?: () => number;
  /** Metrics of clients' twin operations (src/metrics). */
  readonly observer?: TwinObserver;
}

/** Told of every twin GET and reported-properties patch of a device or module, with its duration. */
export interface TwinObserver {
  gotTwin(twinId: string, seconds: number): void;
  reportedUpdated(twinId: string, seconds: number): void;
}

/** Twins kept in memory after use, beyond which the least recently written are read again from the store. */
const MAX_CACHED_TWINS = 10_000;

/**
 * Twins for devices and modules, whatever protocol carries the request (MQTT today; AMQP and the
 * upstream link use the same calls): get, reported-property patches from the twin's owner,
 * desired-property updates from the operator (the local cloud), and desired-property
 * notifications to subscribed clients.
 *
 * Invariants:
 * - A change is acknowledged (the promise resolves ok) only once the store has it durably.
 * - Operations on one twin run one at a time, in call order; `$version` of each section only
 *   increments, by one per change.
 * - A refused patch (validateTwinPatch, the section size) changes nothing.
 * - A subscribed client is sent every desired change after it is durable. The service remembers
 *   the desired section as the client last received it; when the client subscribes again (a
 *   reconnect, a hub restart) and desired moved on meanwhile, it is sent the difference as one
 *   patch with the current `$version`, so `twin.on('properties.desired')` sees what it missed.
 */
export class TwinService {
  private readonly cache = new Map<string, TwinRecord & { twin: StoredTwin }>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly listeners = new Map<string, Set<DesiredListener>>();
  private readonly reportedListeners: ReportedListener[] = [];
  private readonly now: () => number;
  private keepOutbox = false;
  private upstreamGet: UpstreamTwinGet | undefined;

  constructor(private readonly options: TwinServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The twin as the operator sees it (nothing recorded as delivered). */
  get(twinId: string): Promise<TwinGetResult> {
    return this.serial(twinId, async (): Promise<TwinGetResult> => ({ ok: true, twin: (await this.load(twinId)).twin })).catch((error: unknown) => this.readFailed(twinId, error));
  }

  /**
   * A device's or module's own GET: the twin, and its desired section now counts as received. With
   * an upstream (`useUpstreamGet`), the upstream's desired section is asked for first and mirrored
   * here (Azure's edge hub: GET goes to the cloud, the stored copy when that fails).
   */
  getForClient(twinId: string): Promise<TwinGetResult> {
    const startedAt = performance.now();
    const upstreamGet = this.upstreamGet;
    const mirrored = upstreamGet === undefined ? Promise.resolve() : this.mirrorFromUpstream(twinId, upstreamGet);
    const result = mirrored.then(() => this.serial(twinId, async () => {
      const record = await this.load(twinId);
      if (record.delivered?.$version !== record.twin.desired.$version) await this.save(twinId, { ...record, delivered: record.twin.desired });
      return { ok: true, twin: record.twin } as TwinGetResult;
    })).catch((error: unknown) => this.readFailed(twinId, error));
    const observer = this.options.observer;
    return observer === undefined ? result : result.finally(() => observer.gotTwin(twinId, (performance.now() - startedAt) / 1000));
  }

  private readFailed(twinId: string, error: unknown): TwinFailure {
    this.options.logger.error({ event: 'twin.read_failed', code: 'OUTPOST_TWIN_STORE_FAILED', twinId, err: error }, 'cannot read a twin');
    return failure(TwinStatus.InternalError, 'the twin could not be read');
  }

  /** A reported-properties patch from the twin's owner; `jsonBytes` is the size of its JSON text when known. */
  patchReported(twinId: string, patch: unknown, jsonBytes?: number): Promise<TwinPatchResult> {
    const observer = this.options.observer;
    if (observer === undefined) return this.change(twinId, 'reported', patch, jsonBytes);
    const startedAt = performance.now();
    return this.change(twinId, 'reported', patch, jsonBytes).finally(() => observer.reportedUpdated(twinId, (performance.now() - startedAt) / 1000));
  }

  /** A desired-properties patch from the operator; subscribed clients are notified once it is durable. */
  updateDesired(twinId: string, patch: unknown, jsonBytes?: number): Promise<TwinPatchResult> {
    return this.change(twinId, 'desired', patch, jsonBytes);
  }

  /**
   * Notifies `listener` of every later desired change of `twinId`, and, when desired changed since
   * the client last received it, sends it the difference now (asynchronously). Returns the
   * function that ends the subscription.
   */
  subscribeDesired(twinId: string, listener: DesiredListener): () => void {
    let set = this.listeners.get(twinId);
    if (set === undefined) this.listeners.set(twinId, (set = new Set()));
    set.add(listener);
    this.serial(twinId, () => this.catchUp(twinId, listener)).catch((error: unknown) => {
      this.options.logger.warn({ event: 'twin.catch_up_failed', code: 'OUTPOST_TWIN_STORE_FAILED', twinId, err: error }, 'cannot send the desired properties a client missed');
    });
    return () => {
      const current = this.listeners.get(twinId);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(twinId);
    };
  }

  /**
   * From now on, each accepted reported patch is also kept in the twin's `upstreamOutbox` (in the
   * same durable write) until `reportedSynced` says the upstream has it.
   */
  keepReportedForUpstream(): void {
    this.keepOutbox = true;
  }

  /** The upstream took (or refused for good) every reported patch up to `$version` `upTo`: they leave the twin's outbox. */
  reportedSynced(twinId: string, upTo: number): Promise<void> {
    return this.serial(twinId, async () => {
      const record = await this.load(twinId);
      const outbox = record.upstreamOutbox ?? [];
      const left = outbox.filter((entry) => entry.version > upTo);
      if (left.length !== outbox.length) await this.save(twinId, { ...record, upstreamOutbox: left });
    });
  }

  /** Every twin's reported patches still waiting for the upstream (after a restart), oldest first. */
  async pendingReported(): Promise<Map<string, readonly PendingReported[]>> {
    const pending = new Map<string, readonly PendingReported[]>();
    for (const twinId of await this.options.store.ids()) {
      const outbox = await this.serial(twinId, async () => (await this.load(twinId)).upstreamOutbox);
      if (outbox !== undefined && outbox.length > 0) pending.set(twinId, outbox);
    }
    return pending;
  }

  /** Where a client's GET asks for the upstream's desired section first (see UpstreamTwinGet). */
  useUpstreamGet(get: UpstreamTwinGet): void {
    this.upstreamGet = get;
  }

  private async mirrorFromUpstream(twinId: string, get: UpstreamTwinGet): Promise<void> {
    const desired = await get(twinId).catch(() => undefined);
    if (desired === undefined || typeof desired.$version !== 'number') return;
    const result = await this.mirrorDesired(twinId, { section: desired }, desired.$version);
    if (!result.ok) this.options.logger.warn({ event: 'twin.upstream_mirror_failed', twinId, status: result.status }, 'the upstream\'s desired properties could not be stored here; the GET is answered from the copy here');
  }

  /** Calls `listener` after every accepted reported patch (see ReportedListener). */
  onReported(listener: ReportedListener): void {
    this.reportedListeners.push(listener);
  }

  /**
   * Desired properties as the upstream has them (a parent's patch, or its whole section after a
   * re-pull): the section takes the upstream's content and `$version`, and subscribed clients get
   * the patch (for a whole section, the difference from what was here). Nothing happens when the
   * content and version are already those. Not validated again: the upstream did. A patch whose
   * `$version` is not the next one here is not applied: 412 (PreconditionFailed), re-pull.
   */
  mirrorDesired(twinId: string, update: { readonly patch: TwinProperties } | { readonly section: TwinProperties }, version: number): Promise<TwinPatchResult> {
    return this.serial(twinId, async (): Promise<TwinPatchResult> => {
      const record = await this.load(twinId);
      const current = record.twin.desired;
      // A patch applies only on the version it follows: one that skips a version (a patch missed
      // while unsubscribed or disconnected) or repeats an old one would leave a section that claims
      // a version it does not have. The caller re-pulls the whole section instead.
      if ('patch' in update && version !== current.$version + 1) {
        return failure(TwinStatus.PreconditionFailed, `a desired patch of $version ${version} does not follow $version ${current.$version} here`);
      }
      const patch = 'patch' in update ? stripVersion(update.patch) : diffPatch(current, update.section);
      if ((patch === undefined || Object.keys(patch).length === 0) && current.$version === version) return { ok: true, version };
      const merged = 'patch' in update ? mergePatch(current, update.patch) : mergePatch({}, update.section);
      const twin: StoredTwin = { ...record.twin, version: record.twin.version + 1, desired: { ...merged, $version: version } as TwinSection };
      await this.save(twinId, { ...record, twin });
      const changes = patch ?? {};
      this.route({ twinId, section: 'desired', patch: changes, sectionVersion: version, twinVersion: twin.version });
      await this.notify(twinId, twin, changes, version);
      return { ok: true, version };
    }).catch((error: unknown) => {
      this.options.logger.error({ event: 'twin.write_failed', code: 'OUTPOST_TWIN_STORE_FAILED', twinId, section: 'desired', err: error }, 'cannot store a twin change');
      return failure(TwinStatus.InternalError, 'the twin could not be stored');
    });
  }

  /** Removes a twin (its identity was deleted). */
  remove(twinId: string): Promise<void> {
    return this.serial(twinId, async () => {
      this.cache.delete(twinId);
      await this.options.store.remove(twinId);
    });
  }

  /** Waits for operations under way, then closes the store. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    await this.options.store.close();
  }

  private change(twinId: string, section: 'desired' | 'reported', patch: unknown, jsonBytes: number | undefined): Promise<TwinPatchResult> {
    const checked = validateTwinPatch(patch, jsonBytes);
    if (!checked.ok) return Promise.resolve(failure(TwinStatus.BadRequest, checked.reason));
    return this.serial(twinId, async () => this.apply(twinId, section, await this.load(twinId), checked.patch)).catch((error: unknown) => this.writeFailed(twinId, section, error));
  }

  /**
   * Desired properties replaced as a whole (a deployment from the operator: keys the new section
   * no longer has are removed). Applied as the patch from the current section to `section`, so
   * subscribers and the upstream see one ordinary desired patch; nothing changes when they are equal.
   */
  replaceDesired(twinId: string, section: TwinProperties): Promise<TwinPatchResult> {
    const checked = validateTwinPatch(section);
    if (!checked.ok) return Promise.resolve(failure(TwinStatus.BadRequest, checked.reason));
    return this.serial(twinId, async (): Promise<TwinPatchResult> => {
      const record = await this.load(twinId);
      const patch = diffPatch(record.twin.desired, checked.patch);
      if (patch === undefined) return { ok: true, version: record.twin.desired.$version };
      return this.apply(twinId, 'desired', record, patch);
    }).catch((error: unknown) => this.writeFailed(twinId, 'desired', error));
  }

  private async apply(twinId: string, section: 'desired' | 'reported', record: TwinRecord & { twin: StoredTwin }, patch: TwinProperties): Promise<TwinPatchResult> {
    const current = record.twin[section];
    const merged = mergePatch(current, patch);
    const bytes = sectionBytes(merged);
    if (bytes > TwinLimits.maxSectionBytes) {
      return failure(TwinStatus.BadRequest, `the ${section} properties would be ${bytes} bytes; at most ${TwinLimits.maxSectionBytes} are allowed`);
    }
    const version = current.$version + 1;
    const twin: StoredTwin = { ...record.twin, version: record.twin.version + 1, [section]: { ...merged, $version: version } as TwinSection };
    const outbox = section === 'reported' && this.keepOutbox ? withReported(record.upstreamOutbox, patch, version, merged) : record.upstreamOutbox;
    await this.save(twinId, { ...record, twin, ...(outbox === undefined ? {} : { upstreamOutbox: outbox }) });
    this.route({ twinId, section, patch, sectionVersion: version, twinVersion: twin.version });
    if (section === 'desired') await this.notify(twinId, twin, patch, version);
    else this.reported(twinId, patch, version, twin.reported);
    return { ok: true, version };
  }

  private writeFailed(twinId: string, section: 'desired' | 'reported', error: unknown): TwinFailure {
    this.options.logger.error({ event: 'twin.write_failed', code: 'OUTPOST_TWIN_STORE_FAILED', twinId, section, err: error }, 'cannot store a twin change');
    return failure(TwinStatus.InternalError, 'the twin could not be stored');
  }

  /** Sends a durable desired patch to the twin's subscribers and records what they received. */
  private async notify(twinId: string, twin: StoredTwin, patch: TwinProperties, version: number): Promise<void> {
    const set = this.listeners.get(twinId);
    if (set === undefined || set.size === 0) return;
    const notification: DesiredNotification = { version, patch: { ...patch, $version: version } as TwinSection };
    let received = false;
    for (const listener of [...set]) received = this.call(twinId, listener, notification) || received;
    if (!received) return;
    const record = this.cache.get(twinId);
    const before = record?.delivered ?? twin.desired;
    await this.save(twinId, { ...record, twin, delivered: { ...mergePatch(before, patch), $version: version } as TwinSection });
  }

  /** On (re)subscription: the difference between what the client last received and desired now. */
  private async catchUp(twinId: string, listener: DesiredListener): Promise<void> {
    const record = await this.load(twinId);
    const desired = record.twin.desired;
    const delivered = record.delivered;
    // A client never seen before starts from now: IoT Hub does not replay earlier changes either.
    if (delivered === undefined) return this.save(twinId, { ...record, delivered: desired });
    if (delivered.$version >= desired.$version) return;
    const patch = diffPatch(delivered, desired);
    if (patch !== undefined && !this.call(twinId, listener, { version: desired.$version, patch: { ...patch, $version: desired.$version } as TwinSection })) return;
    await this.save(twinId, { ...record, delivered: desired });
  }

  private reported(twinId: string, patch: TwinProperties, version: number, section: TwinSection): void {
    for (const listener of this.reportedListeners) {
      try {
        listener(twinId, patch, version, section);
      } catch (error) {
        this.options.logger.error({ event: 'twin.listener_failed', code: 'OUTPOST_INTERNAL', twinId, err: error }, 'a reported-properties listener threw');
      }
    }
  }

  private call(twinId: string, listener: DesiredListener, notification: DesiredNotification): boolean {
    try {
      return listener(notification);
    } catch (error) {
      this.options.logger.error({ event: 'twin.listener_failed', code: 'OUTPOST_INTERNAL', twinId, err: error }, 'a desired-properties listener threw');
      return false;
    }
  }

  /** Submits a twin change notification to routing; a refusal (store full) is logged, the change stands. */
  private route(change: TwinChange): void {
    const sink = this.options.sink;
    if (sink === undefined) return;
    sink.submit(twinChangeMessage(change, this.now(), this.options.hubName)).catch((error: unknown) => {
      this.options.logger.warn({ event: 'twin.notification_dropped', code: (error as { code?: string }).code ?? 'OUTPOST_INTERNAL', twinId: change.twinId }, 'a twin change notification was not accepted by the store');
    });
  }

  private async load(twinId: string): Promise<TwinRecord & { twin: StoredTwin }> {
    const cached = this.cache.get(twinId);
    if (cached !== undefined) return cached;
    const stored = await this.options.store.read(twinId);
    const record = { ...stored, twin: stored.twin ?? emptyTwin() };
    this.remember(twinId, record);
    return record;
  }

  private async save(twinId: string, record: TwinRecord & { twin: StoredTwin }): Promise<void> {
    try {
      await this.options.store.write(twinId, record);
    } catch (error) {
      // The store may or may not have it: read it again next time rather than trust memory.
      this.cache.delete(twinId);
      throw error;
    }
    this.remember(twinId, record);
  }

  private remember(twinId: string, record: TwinRecord & { twin: StoredTwin }): void {
    this.cache.delete(twinId);
    this.cache.set(twinId, record);
    if (this.cache.size > MAX_CACHED_TWINS) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Runs `work` after every earlier operation on the same twin. */
  private serial<T>(twinId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(twinId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(twinId, tail);
    void tail.then(() => {
      if (this.queues.get(twinId) === tail) this.queues.delete(twinId);
    });
    return next;
  }
}

function stripVersion(patch: TwinProperties): TwinProperties {
  const copy: TwinProperties = { ...patch };
  delete copy.$version;
  return copy;
}

/** The stored outbox with a reported patch appended, folded (`appendFolded`): its length stays bounded however long the link is down. */
function withReported(outbox: readonly PendingReported[] | undefined, patch: TwinProperties, version: number, section: TwinProperties): PendingReported[] {
  const entries: FoldedPatch[] = (outbox ?? []).map((entry) => ({ patch: entry.patch, from: entry.from ?? entry.version, version: entry.version }));
  appendFolded(entries, { patch, from: version, version }, section);
  return entries;
}

export function failure(status: number, reason: string): TwinFailure {
  const errorCode =
    status === TwinStatus.BadRequest ? IotHubErrorCode.ArgumentInvalid
    : status === TwinStatus.NotFound ? IotHubErrorCode.DeviceNotFound
    : status === TwinStatus.PreconditionFailed ? IotHubErrorCode.PreconditionFailed
    : IotHubErrorCode.ServerError;
  return { ok: false, status, errorCode, reason };
}
