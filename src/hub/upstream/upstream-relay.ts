import type { Session } from 'rhea';
import { RateLimitedLog, type Logger } from '../../log/index.js';
import type { C2dService } from '../c2d/index.js';
import type { ConnectedClients } from '../core/index.js';
import type { MethodService } from '../methods/index.js';
import { splitTwinId, type TwinService } from '../twin/index.js';
import { C2dRelay } from './c2d-relay.js';
import { MethodRelay } from './method-relay.js';
import type { ReportedOutbox } from './reported-outbox.js';
import { ReportedOutboxes } from './reported-outboxes.js';
import { TwinRelay } from './twin-relay.js';
import { TwinSync } from './twin-sync.js';
import type { ChannelWatcher, UpstreamLink } from './upstream-link.js';

export interface RelayServices {
  readonly clients: ConnectedClients;
  readonly twins: TwinService;
  readonly methods: MethodService;
  readonly c2d: C2dService | undefined;
}

/** What a relay is built with whichever protocol carries it: UpstreamRelay (AMQP links) and MqttRelay (MQTT topics). */
export interface RelayOptions {
  readonly services: RelayServices;
  /** upstream.minTwinSyncPeriod and upstream.twinGetTimeout (TwinSync). */
  readonly minTwinSyncPeriodMs: number;
  readonly twinGetTimeoutMs: number;
  readonly logger: Logger;
  /**
   * Identities whose twin is relayed whether or not a client is connected as them, with desired
   * patches subscribed: this edge device's `$edgeAgent` and `$edgeHub`, whose desired properties
   * are the deployment from above (docs/agent.md, "Managed from above").
   */
  readonly alwaysRelayed?: readonly string[];
}

export interface UpstreamRelayOptions extends RelayOptions {
  readonly link: UpstreamLink;
  readonly clientVersion: string;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

/** What each of an identity's relayed links (MethodRelay, C2dRelay, TwinRelay) is attached with. */
export interface RelayLinkOptions {
  /** The identity's upstream session, the one its telemetry uses. */
  readonly session: Session;
  readonly deviceId: string;
  readonly clientVersion: string;
  /** The identity's `com.microsoft:auth-chain` when this edge device acts for it. */
  readonly authChain: string | undefined;
  readonly logger: Logger;
  /** The parent detached the link (or one of its pair): the relay tries again later. */
  readonly failed: (condition: string | undefined) => void;
}

interface Relayed {
  readonly identity: string;
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  readonly outbox: ReportedOutbox;
  session: Session | undefined;
  methods: MethodRelay | undefined;
  c2d: C2dRelay | undefined;
  twin: TwinRelay | undefined;
  retry: NodeJS.Timeout | undefined;
  failures: number;
}

interface Wanted {
  readonly methods: boolean;
  readonly c2d: boolean;
  readonly desired: boolean;
  readonly twin: boolean;
}

/** An always-relayed system twin: its desired patches down, its reported patches up; no methods or C2D. */
const ALWAYS: Wanted = { methods: false, c2d: false, desired: true, twin: true };

/**
 * Twins, direct methods and C2D between the clients connected here and the parent (docs/upstream.md,
 * "What is relayed"). For each identity with a live client here, its upstream channel (session and
 * token, the one its telemetry uses) carries the links Azure's SDK would attach for that client:
 * the method pair while the client is subscribed to methods, the C2D receiver while a device is
 * subscribed to C2D, and the twin pair while it is connected (or has reported patches still to
 * send), with a desired subscription (PUT) while it is subscribed to desired properties. So on the
 * parent the identity is connected, and the parent's operations reach the client through this
 * hub's services. Links follow the client's subscriptions (ConnectedClients.onChanged), and are
 * attached again after the connection comes back (the twin re-pulled) or a link fails (backoff).
 */
export class UpstreamRelay implements ChannelWatcher {
  private readonly relayed = new Map<string, Relayed>();
  private readonly warnings: RateLimitedLog;
  private readonly sync: TwinSync;
  private readonly always: ReadonlySet<string>;
  /** Nothing is relayed before they are read: their stored patches go first. */
  private readonly outboxes: ReportedOutboxes;

  constructor(private readonly options: UpstreamRelayOptions) {
    this.warnings = new RateLimitedLog(options.logger);
    this.always = new Set(options.alwaysRelayed ?? []);
    const { twins } = options.services;
    this.sync = new TwinSync({ minPeriodMs: options.minTwinSyncPeriodMs, getTimeoutMs: options.twinGetTimeoutMs, connected: () => options.link.connected, canRelay: (twinId) => {
      const { deviceId, moduleId } = splitTwinId(twinId);
      return options.link.canSignFor(deviceId, moduleId);
    }, logger: options.logger });
    this.outboxes = new ReportedOutboxes({
      twins,
      logger: options.logger,
      queued: (twinId) => this.reported(twinId),
      loaded: (twinIds) => {
        for (const twinId of twinIds) this.stateOf(twinId);
        if (options.link.connected) this.connected();
      },
    });
    options.link.watch(this);
    options.services.clients.onChanged((identity) => this.reconcile(identity));
    twins.useUpstreamGet((twinId) => this.sync.fetchDesired(twinId));
  }

  connected(): void {
    if (!this.outboxes.loaded) return;
    const identities = new Set(this.options.services.clients.list().map((entry) => entry.identity));
    for (const [identity, state] of this.relayed) if (!state.outbox.empty) identities.add(identity);
    for (const identity of this.always) identities.add(identity);
    for (const identity of identities) this.reconcile(identity);
  }

  authenticated(identity: string, session: Session): void {
    const state = this.relayed.get(identity);
    if (state === undefined || state.session === session) return;
    this.drop(state);
    state.session = session;
    state.failures = 0;
    this.reconcile(identity);
  }

  ended(identity: string): void {
    const state = this.relayed.get(identity);
    if (state === undefined) return;
    this.drop(state);
    state.session = undefined;
    // The connection lost: `connected` brings it back. A session failed, or its token was refused
    // (also before the relay ever had it): try again later.
    if (this.options.link.connected && this.wanted(state) !== undefined) this.scheduleRetry(state);
  }

  /** Stops retrying (the hub is stopping; the link closes the sessions). */
  close(): void {
    this.sync.close();
    for (const state of this.relayed.values()) {
      if (state.retry !== undefined) clearTimeout(state.retry);
      state.retry = undefined;
      this.drop(state);
    }
  }

  /** A patch reported here is in the twin's outbox: sent now if its links are up, else they are made. */
  private reported(twinId: string): void {
    const state = this.stateOf(twinId);
    if (state.twin !== undefined) state.twin.flush();
    else this.reconcile(twinId);
  }

  private stateOf(identity: string): Relayed {
    let state = this.relayed.get(identity);
    if (state === undefined) {
      const { deviceId, moduleId } = splitTwinId(identity);
      state = { identity, deviceId, moduleId, outbox: this.outboxes.of(identity), session: undefined, methods: undefined, c2d: undefined, twin: undefined, retry: undefined, failures: 0 };
      this.relayed.set(identity, state);
    }
    return state;
  }

  /** What the identity needs upstream now; undefined when nothing (no client here, nothing to send). */
  private wanted(state: Relayed): Wanted | undefined {
    const clients = this.options.services.clients;
    // A system module the hub answers methods for itself ($edgeHub): its method links too.
    if (this.always.has(state.identity)) return this.options.services.methods.handlesLocally(state.identity) ? { ...ALWAYS, methods: true } : ALWAYS;
    const connected = clients.isConnected(state.identity);
    if (!connected && state.outbox.empty) return undefined;
    return {
      methods: clients.linkFor(state.identity, 'methods') !== undefined,
      c2d: state.moduleId === undefined && this.options.services.c2d !== undefined && clients.linkFor(state.identity, 'c2d') !== undefined,
      desired: clients.linkFor(state.identity, 'desired-properties') !== undefined,
      twin: true,
    };
  }

  private reconcile(identity: string): void {
    if (!this.outboxes.loaded) return;
    const state = this.relayed.get(identity) ?? (this.always.has(identity) || this.options.services.clients.isConnected(identity) ? this.stateOf(identity) : undefined);
    if (state === undefined) return;
    const wanted = this.wanted(state);
    if (wanted === undefined) {
      this.drop(state);
      if (state.retry !== undefined) clearTimeout(state.retry);
      state.retry = undefined;
      if (state.session === undefined) this.relayed.delete(identity);
      return;
    }
    const link = this.options.link;
    if (!link.connected || state.retry !== undefined) return;
    const session = state.session;
    if (session === undefined) {
      const opened = link.openChannel(state.deviceId, state.moduleId);
      if (opened === 'noCredentials') {
        this.warnings.warn(`upstream.relay_no_credentials:${identity}`, { event: 'upstream.relay_no_credentials', identity, code: 'OUTPOST_UPSTREAM_NO_CREDENTIALS' }, 'no SAS key for this identity: its twin, methods and C2D are not relayed from the parent');
      } else if (opened === 'unavailable') this.scheduleRetry(state);
      return;
    }
    this.apply(state, session, wanted);
  }

  private apply(state: Relayed, session: Session, wanted: Wanted): void {
    const { clientVersion, services, logger } = this.options;
    const base = { session, deviceId: state.deviceId, clientVersion, authChain: this.options.link.authChainFor(state.deviceId, state.moduleId), logger };
    if (wanted.methods && state.methods === undefined) {
      state.methods = new MethodRelay({ ...base, moduleId: state.moduleId, methods: services.methods, failed: (condition) => this.partFailed(state, 'methods', condition) });
    } else if (!wanted.methods && state.methods !== undefined) {
      state.methods.close();
      state.methods = undefined;
    }
    if (wanted.c2d && state.c2d === undefined && services.c2d !== undefined) {
      state.c2d = new C2dRelay({ ...base, c2d: services.c2d, failed: (condition) => this.partFailed(state, 'c2d', condition) });
    } else if (!wanted.c2d && state.c2d !== undefined) {
      state.c2d.close();
      state.c2d = undefined;
    }
    if (state.twin === undefined) {
      state.twin = new TwinRelay({ ...base, moduleId: state.moduleId, twinId: state.identity, twins: services.twins, outbox: state.outbox, sync: this.sync, failed: (condition) => this.partFailed(state, 'twin', condition) });
    }
    state.twin.setDesired(wanted.desired);
  }

  private partFailed(state: Relayed, part: 'methods' | 'c2d' | 'twin', condition: string | undefined): void {
    this.warnings.warn(`upstream.relay_link_failed:${state.identity}:${part}`, { event: 'upstream.relay_link_failed', identity: state.identity, part, condition, code: 'OUTPOST_UPSTREAM_RELAY_LINK_FAILED' }, 'a relayed link to the parent was detached; attached again after a pause');
    if (part === 'methods') state.methods = undefined;
    if (part === 'c2d') state.c2d = undefined;
    if (part === 'twin') {
      state.twin = undefined;
      state.outbox.requeue();
    }
    this.scheduleRetry(state);
  }

  /** Closes the identity's relayed links (its session stays: telemetry uses it); unanswered reported patches wait again. */
  private drop(state: Relayed): void {
    state.methods?.close();
    state.methods = undefined;
    state.c2d?.close();
    state.c2d = undefined;
    state.twin?.close();
    state.twin = undefined;
    state.outbox.requeue();
  }

  private scheduleRetry(state: Relayed): void {
    if (state.retry !== undefined) return;
    state.failures++;
    const delayMs = Math.min(this.options.retryMinMs * 2 ** (state.failures - 1), this.options.retryMaxMs);
    state.retry = setTimeout(() => {
      state.retry = undefined;
      this.reconcile(state.identity);
    }, delayMs);
    state.retry.unref();
  }
}
