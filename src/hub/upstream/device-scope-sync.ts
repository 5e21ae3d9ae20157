import { request } from 'node:https';
import { RateLimitedLog, type Logger } from '../../log/index.js';
import { NESTED_SCOPE_API_VERSION, recordsFromScope, SCOPE_API_VERSION, ScopeOperation, scopeOwners, type IdentityRecord, type IdentitySource, type UpsertResult } from '../auth/index.js';
import { signSasToken } from './sas-signer.js';
import { tokenAudience } from './upstream-constants.js';
import type { UpstreamCredential, UpstreamCredentials } from './upstream-credentials.js';

/** Where the synced identities go: the identity registry (IdentityRegistry.upsertMany). */
export interface ScopeStore {
  /** What is there: an answer about one identity names its parent's scope, resolved among these. */
  list(): IdentityRecord[];
  upsertMany(records: readonly IdentityRecord[], options: { source: IdentitySource; removeMissing?: boolean }): UpsertResult;
}

export interface DeviceScopeSyncOptions {
  readonly host: string;
  /** upstream.httpsPort. */
  readonly port: number;
  readonly ca: string | undefined;
  readonly edgeDeviceId: string;
  readonly iotHubHostname: string;
  readonly credentials: UpstreamCredentials;
  readonly store: ScopeStore;
  /** upstream.scopeRefreshInterval. */
  readonly intervalMs: number;
  readonly tokenTtlMs: number;
  readonly logger: Logger;
}

const REQUEST_TIMEOUT_MS = 30_000;
/** Devices asked per page (IoT Hub's DeviceScopeApiClient asks for 1000). */
const PAGE_DEVICES = 1000;
/** A parent whose links never end (a loop) is given up on after this many pages. */
const MAX_PAGES = 10_000;
/** Far above any real scope (a few hundred bytes per identity); bounds what a bad parent can make us buffer. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
const HTTP_OK = 200;
const MS_PER_SEC = 1000;
const FAILURE_LOG_INTERVAL_MS = 60_000;
/**
 * An identity unknown here is asked for at most this often (a device retrying a wrong id every
 * second costs the parent one request per interval), and waited for at most this long.
 */
const ON_DEMAND_MIN_INTERVAL_MS = 10_000;
const ON_DEMAND_WAIT_MS = 5_000;
/** Identities remembered for that limit; past it the oldest are forgotten (a flood of made-up ids). */
const ON_DEMAND_REMEMBERED = 10_000;
/** And at most this many requests per interval for all identities together: made-up ids cost the parent this much at most. */
const ON_DEMAND_MAX_PER_INTERVAL = 20;
const HTTP_NOT_FOUND = 404;
const HTTP_METHOD_NOT_ALLOWED = 405;

/** Whether an answer says the parent has no such call (it does not serve that API). */
function notServed(status: number | undefined): boolean {
  return status === HTTP_NOT_FOUND || status === HTTP_METHOD_NOT_ALLOWED;
}

/**
 * The device scope fetched from the parent (docs/upstream.md, "The device scope"): each time the
 * upstream link connects, and every upstream.scopeRefreshInterval. IoT Hub's nested scope API
 * first (POST, 2020-06-30-preview: what Azure's edge hub 1.2 and later serves as a parent, and
 * calls itself), and the first API (GET, 2018-08-30-preview) when the parent answers 404 or 405 to
 * it (an older parent); each call tries both, so a parent upgraded meanwhile is used as it is now.
 * The identities below this edge device, with their keys, go into the identity registry as `source: upstream`
 * (a full sync: one no longer in the scope is removed), whose file is 0600 under <dataDir>. So
 * devices in the scope authenticate here from then on, also while the parent is unreachable, and
 * one removed from the scope on the parent is refused here after the next sync. Requests are
 * signed with this edge device's own key; the answer is never logged.
 */
export class DeviceScopeSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly failures: RateLimitedLog;
  /** Resolved when the next fetch started after they were added has ended (whatever its result). */
  private waiters: Array<() => void> = [];
  /** When each identity unknown here was last asked for (insertion order: oldest first). */
  private readonly onDemandAtMs = new Map<string, number>();
  /** Requests made in the interval that started at onDemandWindowStartMs. */
  private onDemandInWindow = 0;
  private onDemandWindowStartMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: DeviceScopeSyncOptions) {
    this.failures = new RateLimitedLog(options.logger, FAILURE_LOG_INTERVAL_MS);
  }

  /** Arms the periodic fetch; the first comes when the upstream link connects (`syncNow`). */
  start(): void {
    this.timer = setInterval(() => this.syncNow(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Fetches the scope now (once more after the one running, if one is). */
  syncNow(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    const waiting = this.waiters;
    this.waiters = [];
    this.running = this.sync().finally(() => {
      this.running = undefined;
      for (const resolve of waiting) resolve();
      if (this.again) {
        this.again = false;
        this.syncNow();
      }
    });
  }

  /**
   * An identity is not known here: ask the parent for it alone (IoT Hub's
   * `getDeviceAndModuleOnBehalfOf`, or `deviceAndModuleInDeviceScope` of the first API, as Azure's
   * edge hub does for an identity it does not know) and
   * resolve once the answer is in the registry (or after ON_DEMAND_WAIT_MS), so a device registered
   * at the top connects at once instead of after the next periodic sync. Each identity is asked for
   * at most once per ON_DEMAND_MIN_INTERVAL_MS, and all together at most ON_DEMAND_MAX_PER_INTERVAL
   * times per interval: past either, it resolves at once and nothing is asked. A parent with
   * neither call (404 or 405) gets the whole scope fetched instead.
   */
  refreshForUnknown(deviceId: string, moduleId: string | undefined): Promise<void> {
    if (this.closed || !this.admitOnDemand(moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`, Date.now())) return Promise.resolve();
    const lookup = this.lookUp(deviceId, moduleId).then((found) => (found === 'not-served' ? this.nextSync(ON_DEMAND_WAIT_MS) : undefined));
    return settledWithin(lookup, ON_DEMAND_WAIT_MS);
  }

  /** Whether `key` may be asked for now (its own interval, and the cap for all), counted if so. */
  private admitOnDemand(key: string, nowMs: number): boolean {
    if (nowMs - (this.onDemandAtMs.get(key) ?? Number.NEGATIVE_INFINITY) < ON_DEMAND_MIN_INTERVAL_MS) return false;
    if (nowMs - this.onDemandWindowStartMs >= ON_DEMAND_MIN_INTERVAL_MS) {
      this.onDemandWindowStartMs = nowMs;
      this.onDemandInWindow = 0;
    }
    if (this.onDemandInWindow >= ON_DEMAND_MAX_PER_INTERVAL) return false;
    this.onDemandInWindow++;
    // Re-inserted so the map's order stays oldest first.
    this.onDemandAtMs.delete(key);
    this.onDemandAtMs.set(key, nowMs);
    if (this.onDemandAtMs.size > ON_DEMAND_REMEMBERED) this.onDemandAtMs.delete(this.onDemandAtMs.keys().next().value!);
    return true;
  }

  /** One identity from the parent into the registry; 'not-served' when the parent has no such call. */
  private async lookUp(deviceId: string, moduleId: string | undefined): Promise<'done' | 'not-served'> {
    const credential = this.options.credentials.signerCredential();
    if (credential === undefined) {
      this.failed('no SAS key for this edge device (upstream.connectionString)');
      return 'done';
    }
    // The nested API first (Azure's edge hub 1.2 and IoT Hub serve it), then the first one.
    let answer = await this.requestJson(credential, 'POST', `${this.basePath()}/${ScopeOperation.OnBehalfOf}?api-version=${NESTED_SCOPE_API_VERSION}`, {
      targetDeviceId: deviceId,
      targetModuleId: moduleId ?? '',
      authChain: this.options.edgeDeviceId,
    });
    if (!answer.ok && notServed(answer.status) && !this.closed) {
      answer = await this.requestJson(credential, 'GET', `${this.basePath()}/${ScopeOperation.Target}?targetDeviceId=${encodeURIComponent(deviceId)}&targetModuleId=${encodeURIComponent(moduleId ?? '')}&api-version=${SCOPE_API_VERSION}`);
    }
    if (this.closed) return 'done';
    if (!answer.ok) {
      if (notServed(answer.status)) return 'not-served';
      this.failed(answer.reason);
      return 'done';
    }
    const value = answer.value;
    const { records, problems } = recordsFromScope(value, this.options.edgeDeviceId, scopeOwners(this.options.store.list()));
    if (records.length === 0) {
      if (problems.length > 0) this.failed(problems.join('; '));
      return 'done';
    }
    const result = this.options.store.upsertMany(records, { source: 'upstream' });
    this.options.logger.info(
      { event: 'upstream.scope_identity_fetched', identity: moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`, added: result.added, updated: result.updated, rejected: [...problems, ...result.rejected.map((r) => `${r.key}: ${r.problems.join(', ')}`)] },
      'an identity unknown here fetched from the parent\'s device scope',
    );
    return 'done';
  }

  /**
   * Fetches the scope now and resolves when that fetch has ended (or after `waitMs`): the
   * `RefreshDeviceScopeIdentityCache` direct method on this edge device's `$edgeHub`.
   */
  refreshNow(waitMs = REQUEST_TIMEOUT_MS): Promise<void> {
    return this.closed ? Promise.resolve() : this.nextSync(waitMs);
  }

  /** Resolves when a fetch started from now on has ended, or after `waitMs`. */
  private nextSync(waitMs: number): Promise<void> {
    const ended = new Promise<void>((resolve) => this.waiters.push(resolve));
    // A fetch already running may have started before the identity was registered up there: wait for a new one.
    if (this.running !== undefined) this.again = true;
    else this.syncNow();
    return settledWithin(ended, waitMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private async sync(): Promise<void> {
    const { edgeDeviceId, logger } = this.options;
    const credential = this.options.credentials.signerCredential();
    if (credential === undefined) return this.failed('no SAS key for this edge device (upstream.connectionString)');
    // Every page, then one sync: a device's parent may be on another page than the device.
    let pages = await this.pages(credential, 'nested');
    if (typeof pages === 'object' && 'notServed' in pages && !this.closed) pages = await this.pages(credential, 'first');
    if (this.closed) return;
    if (typeof pages === 'string') return this.failed(pages);
    if ('notServed' in pages) return this.failed(pages.notServed);
    const { devices, modules, api } = pages;
    const parsed = { devices, modules };
    const { records, problems } = recordsFromScope(parsed, edgeDeviceId);
    if (problems.length > 0 && records.length === 0) return this.failed(problems.join('; '));
    const result = this.options.store.upsertMany(records, { source: 'upstream', removeMissing: true });
    const rejected = result.rejected.map((r) => `${r.key}: ${r.problems.join(', ')}`);
    logger.info(
      { event: 'upstream.scope_synced', api, identities: records.length, added: result.added, updated: result.updated, removed: result.removed, rejected: [...problems, ...rejected] },
      'device scope fetched from the parent',
    );
  }

  private failed(reason: string): void {
    this.failures.warn('upstream.scope_sync_failed', { event: 'upstream.scope_sync_failed', code: 'OUTPOST_UPSTREAM_SCOPE_SYNC_FAILED', host: this.options.host, port: this.options.port, reason }, 'could not fetch the device scope from the parent; the identities synced before stay');
  }

  /**
   * Every page of the scope from one of IoT Hub's two scope APIs: the nested one (POST with this
   * edge device as the auth chain, the next page's token in the body) or the first one (GET, the
   * next page's path). `notServed` when the parent has no such call; a string says why it failed.
   */
  private async pages(credential: UpstreamCredential, api: 'nested' | 'first'): Promise<{ devices: unknown[]; modules: unknown[]; api: string } | { notServed: string } | string> {
    const devices: unknown[] = [];
    const modules: unknown[] = [];
    const nestedPath = `${this.basePath()}/${ScopeOperation.NestedScope}?api-version=${NESTED_SCOPE_API_VERSION}`;
    let link: string | null = api === 'nested' ? '' : this.firstPagePath();
    for (let pages = 0; link !== null; pages++) {
      if (pages === MAX_PAGES) return `the scope has more than ${MAX_PAGES} pages`;
      const answer =
        api === 'nested'
          ? await this.requestJson(credential, 'POST', nestedPath, { pageSize: PAGE_DEVICES, authChain: this.options.edgeDeviceId, ...(link === '' ? {} : { continuationLink: link }) })
          : await this.requestJson(credential, 'GET', link);
      if (this.closed) return 'closed';
      if (!answer.ok) return pages === 0 && notServed(answer.status) ? { notServed: answer.reason } : answer.reason;
      const page = answer.value as { devices?: unknown; modules?: unknown; continuationLink?: unknown };
      if (typeof page !== 'object' || page === null || !Array.isArray(page.devices)) return 'the answer is not a device scope ({devices, modules})';
      devices.push(...page.devices);
      if (Array.isArray(page.modules)) modules.push(...page.modules);
      const next = page.continuationLink;
      if (next === null || next === undefined || next === '') link = null;
      else if (typeof next === 'string' && (api === 'nested' || next.startsWith(this.scopePath()))) link = next;
      else return 'the answer\'s continuationLink is not a page of this edge device\'s scope';
    }
    return { devices, modules, api: api === 'nested' ? NESTED_SCOPE_API_VERSION : SCOPE_API_VERSION };
  }

  /** This edge device's `$edgeHub` on the parent, under which the scope calls are. */
  private basePath(): string {
    return `/devices/${encodeURIComponent(this.options.edgeDeviceId)}/modules/${encodeURIComponent('$edgeHub')}`;
  }

  /** The first API's scope call on the parent (each page's link must start with it). */
  private scopePath(): string {
    return `${this.basePath()}/${ScopeOperation.Scope}`;
  }

  private firstPagePath(): string {
    return `${this.scopePath()}?deviceCount=${PAGE_DEVICES}&continuationToken=&api-version=${SCOPE_API_VERSION}`;
  }

  /** A request to the parent answered 200 with JSON, or why not (with the status when it answered). */
  private async requestJson(credential: UpstreamCredential, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ ok: true; value: unknown } | { ok: false; status?: number; reason: string }> {
    let answer: { status: number; body: string };
    try {
      answer = await this.fetch(credential, method, path, body === undefined ? undefined : JSON.stringify(body));
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
    if (answer.status !== HTTP_OK) return { ok: false, status: answer.status, reason: `the parent answered ${answer.status}: ${safeMessage(answer.body)}` };
    try {
      return { ok: true, value: JSON.parse(answer.body) as unknown };
    } catch {
      return { ok: false, status: answer.status, reason: 'the answer is not JSON' };
    }
  }

  private fetch(credential: UpstreamCredential, method: 'GET' | 'POST', path: string, body: string | undefined): Promise<{ status: number; body: string }> {
    const { host, port, ca, edgeDeviceId, iotHubHostname, tokenTtlMs } = this.options;
    // The edge device's own token, or its $edgeHub's (both are what a parent accepts here).
    const token = signSasToken(tokenAudience(iotHubHostname, edgeDeviceId, credential.signerModuleId), credential.key, Math.floor((Date.now() + tokenTtlMs) / MS_PER_SEC));
    const headers: Record<string, string | number> = { authorization: token };
    if (body !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const req = request({ host, port, path, method, servername: host, ...(ca === undefined ? {} : { ca }), headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The parent's error message, if its answer has one; never the body itself (it could hold keys). */
function safeMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' ? message.slice(0, 200) : 'no message';
  } catch {
    return 'no message';
  }
}

/** Resolves when `done` settles or after `waitMs`, whichever comes first (the timer does not hold the process). */
function settledWithin(done: Promise<unknown>, waitMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    timer.unref();
    const finish = (): void => {
      clearTimeout(timer);
      resolve();
    };
    done.then(finish, finish);
  });
}
