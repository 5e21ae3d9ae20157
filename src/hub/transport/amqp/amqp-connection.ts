/**
 * One AMQP 1.0 connection (rhea underneath): the connection's lifecycle and protocol errors, the
 * identities authenticated on it, and the dispatch of every attach to the handler of its address
 * (link-address.ts). Handlers per link kind live in their own files; the identities' links are
 * AmqpClientLinks registered in the hub core's ConnectedClients.
 *
 * Invariants:
 * - A link to an identity's address opens only once that identity is authenticated on this
 *   connection (CBS put-token, SASL PLAIN or its TLS client certificate); otherwise it is detached
 *   with `amqp:unauthorized-access`. Each identity is authorized on its own.
 * - When an identity's token expires (se + auth.sasClockSkew) without renewal, its links are
 *   detached with `amqp:unauthorized-access` and it leaves ConnectedClients; other identities on
 *   the connection are not disturbed.
 * - A malformed frame (or an oversize one) closes the connection with an AMQP close carrying the
 *   error, then the socket; nothing else is disturbed.
 */
import type { Duplex } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import rhea, { type Connection, type Container, type EventContext, type link as Link, type Receiver, type Sender, type Session } from 'rhea';
import type { ErrorCode } from '../../../errors/index.js';
import type { Logger } from '../../../log/index.js';
import { authChainProblem } from '../../auth/index.js';
import type { ConnectionInfo } from '../protocol-adapter.js';
import { AmqpClientLink } from './amqp-client-link.js';
import { AmqpCondition, CbsStatus, LinkProperty } from './amqp-constants.js';
import type { AmqpContext } from './amqp-context.js';
import { authenticateIdentity, type IdentityCheck } from './authenticate-identity.js';
import { c2dLink, type C2dLink } from './c2d-link.js';
import { serveCbsReceiver, type CbsHandler, type PutTokenOutcome } from './cbs-link.js';
import { serveEventsLink } from './events-link.js';
import { createConnection, reuseFrameBuffer, shareEmptyValues, shareEmptyValuesIn } from '../../amqp-common/index.js';
import { decodeFastOn } from './message-decoder.js';
import { guardFrames, guardMessageSize, type FrameGuard, type MessageSizeGuard } from './input-guards.js';
import { identityName, parseLinkAddress, type LinkAddress } from './link-address.js';
import { serveMethodResponses } from './methods-link.js';
import { parsePlainUsername, serverMechanisms, type PlainLogin } from './sasl-layer.js';
import { sendDesiredPatch, serveTwinReceiver, type TwinLinkOwner } from './twin-link.js';

/** Longest wait for a timer: setTimeout takes at most 2^31 - 1 ms; a later expiry is re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** How long a closing connection waits for the client's close before the socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;
/** Credit of the small request links (CBS, twin, method responses): enough for the SDK's bursts. */
const REQUEST_LINK_CREDIT = 100;

interface IdentityState {
  readonly link: AmqpClientLink;
  /** The edge device acting for this identity (its key signed the token), when one does. */
  actor?: string;
  unsubscribeDesired?: () => void;
  c2d?: C2dLink;
  detachC2d?: () => void;
}

/** Where a connection's own rhea container and its socket keep their AmqpConnection (the shared listeners below find it there). */
const OWNER = Symbol('outpost.amqpConnection');
type Owned = { [OWNER]?: AmqpConnection };

function ownerOf(emitter: unknown): AmqpConnection {
  return (emitter as Owned)[OWNER]!;
}

/** The performatives rhea keeps of a connection, session or link: its own and the peer's. */
type Performatives<K extends string> = { local: Partial<Record<K, unknown>>; remote: Partial<Record<K, unknown>> };

/** Connection events the hub only marks as handled. */
const QUIETLY_HANDLED = ['connection_close', 'connection_error', 'disconnected', 'session_close', 'session_error'] as const;

function handledQuietly(): void {}

/** One rhea container per context, whose listeners serve all its connections (AmqpConnection.wire). */
const sharedContainers = new WeakMap<AmqpContext, Container>();

function sharedContainer(ctx: AmqpContext): Container {
  let container = sharedContainers.get(ctx);
  if (container === undefined) {
    container = rhea.create_container({ id: ctx.containerId });
    AmqpConnection.wire(container);
    sharedContainers.set(ctx, container);
  }
  return container;
}

export class AmqpConnection implements TwinLinkOwner, CbsHandler, PlainLogin, FrameGuard, MessageSizeGuard {
  private readonly connection: Connection;
  private readonly identities = new Map<string, IdentityState>();
  private readonly cbsSenders = new Set<Sender>();
  /** Until the client's open: let go once cleared (a cleared Timeout kept is about 150 B per idle connection). */
  private connectTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private log: Logger | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly info: ConnectionInfo,
    private readonly ctx: AmqpContext,
  ) {
    // The connection's own container: its owner and SASL mechanisms, the rest (listeners, id, options) the context's.
    const container = Object.create(sharedContainer(ctx)) as Container & Owned & { sasl_server_mechanisms: unknown };
    container[OWNER] = this;
    container.sasl_server_mechanisms = serverMechanisms(this);
    // rhea's create_connection, without a getter and closure of its own per connection (shared-connection.ts).
    this.connection = createConnection(container, {
      container_id: ctx.containerId,
      max_frame_size: ctx.limits.maxFrameBytes,
      ...(ctx.limits.idleTimeoutMs > 0 ? { idle_time_out: ctx.limits.idleTimeoutMs } : {}),
      tcp_no_delay: true,
      reconnect: false,
      // Every receiving link is settled and credited by its handler (events-link.ts).
      autoaccept: false,
      credit_window: 0,
    });
    guardFrames(this.connection, this);
    this.connectTimer = setTimeout(AmqpConnection.connectTimedOut, info.connectTimeoutMs, this);
    this.connectTimer.unref();
    (stream as unknown as Owned)[OWNER] = this;
    // `on`, not `once`: a socket closes once, and `once` wraps each listener in a state object and a bound function.
    stream.on('close', AmqpConnection.onStreamClosed);
    this.connection.accept(stream as never);
    // A tick's frames encoded into one buffer and written once (frame-writer.ts).
    reuseFrameBuffer(this.connection, stream);
  }

  /** The hub is stopping: close with `amqp:connection:forced`, the client reconnects elsewhere or later. */
  shutdown(): void {
    this.closeWith(AmqpCondition.ConnectionForced, 'the hub is shutting down');
  }

  logger(): Logger {
    this.log ??= this.ctx.logger.child({ remoteAddress: this.info.remoteAddress, listener: this.info.listener });
    return this.log;
  }

  get twins() {
    return this.ctx.services.twins;
  }

  // Listeners shared by every connection: `this` is the connection's own container, which keeps its AmqpConnection.
  private static onConnectionOpen(this: unknown): void {
    ownerOf(this).opened();
  }

  private static onSessionOpen(this: unknown, context: EventContext): void {
    ownerOf(this).sessionOpened(context.session as Session);
  }

  private static onReceiverOpen(this: unknown, context: EventContext): void {
    ownerOf(this).onReceiverOpen(context.receiver as Receiver);
  }

  private static onSenderOpen(this: unknown, context: EventContext): void {
    ownerOf(this).onSenderOpen(context.sender as Sender);
  }

  private static onReceiverClose(this: unknown, context: EventContext): void {
    ownerOf(this).forgetLink(context.receiver as Receiver);
  }

  private static onSenderClose(this: unknown, context: EventContext): void {
    ownerOf(this).forgetLink(context.sender as Sender);
  }

  private static onProtocolError(this: unknown, error: Error): void {
    ownerOf(this).fail(AmqpCondition.DecodeError, error.message, 'decode');
  }

  private static onConnectionError(this: unknown, error: Error): void {
    ownerOf(this).readFailed(error);
  }

  private static onStreamClosed(this: unknown): void {
    ownerOf(this).closed();
  }

  private static expiryDue(connection: AmqpConnection, identity: IdentityState): void {
    if (Date.now() >= identity.link.expiresAtMs) connection.expire(identity);
    else connection.armExpiry(identity);
  }

  private static connectTimedOut(connection: AmqpConnection): void {
    connection.timedOut();
  }

  /**
   * The listeners of every connection of a context, on the container its connections' own
   * containers inherit from: rhea dispatches a connection's events (and its sessions' and links'
   * that nothing below handled) to its container, so `this` is the connection's own container,
   * which keeps its AmqpConnection under OWNER. Listeners on each connection were 14 entries of a
   * property dictionary per connection, and a container of its own with an 'error' listener.
   */
  static wire(container: Container): void {
    container.on('connection_open', AmqpConnection.onConnectionOpen);
    // Listened to so that rhea counts them as handled; the socket's close does the cleaning up.
    for (const event of QUIETLY_HANDLED) container.on(event, handledQuietly);
    container.on('session_open', AmqpConnection.onSessionOpen);
    container.on('receiver_open', AmqpConnection.onReceiverOpen);
    container.on('sender_open', AmqpConnection.onSenderOpen);
    container.on('receiver_close', AmqpConnection.onReceiverClose);
    container.on('sender_close', AmqpConnection.onSenderClose);
    container.on('protocol_error', AmqpConnection.onProtocolError);
    // Also keeps rhea's container from throwing an 'error' nothing listens to.
    container.on('error', AmqpConnection.onConnectionError);
  }

  /** Telemetry and module-output links decode on the fast path (message-decoder.ts); no delivery buffers beyond the largest message. */
  private sessionOpened(session: Session): void {
    guardMessageSize(session, this);
    decodeFastOn(session);
    const kept = session as unknown as Performatives<'begin'>;
    shareEmptyValues(kept.local.begin);
    shareEmptyValues(kept.remote.begin);
  }

  /** The link's attaches, its own and the client's, as rhea keeps them (after the hub set its own source and target). */
  private static shareAttachValues(link: Receiver | Sender): void {
    const kept = link as unknown as Performatives<'attach'> & { local: { attach: { source?: unknown; target?: unknown } } };
    shareEmptyValues(kept.remote.attach);
    shareEmptyValuesIn([kept.local.attach.source, kept.local.attach.target]);
  }

  /** FrameGuard: the largest frame announced in Open. */
  get maxFrameBytes(): number {
    return this.ctx.limits.maxFrameBytes;
  }

  /** FrameGuard: a frame beyond it (or shorter than a frame header) closes the connection. */
  frameViolated(description: string): void {
    this.fail(AmqpCondition.FramingError, description, 'frame_size');
  }

  /** MessageSizeGuard: the largest message a client may send. */
  get maxMessageBytes(): number {
    return this.ctx.limits.maxMessageBytes;
  }

  /** MessageSizeGuard: a receiver's delivery went beyond it; the link is detached. */
  messageTooLarge(receiver: Receiver): void {
    this.refuse(receiver, AmqpCondition.MessageSizeExceeded, `a message larger than ${this.ctx.limits.maxMessageBytes} bytes`, 'OUTPOST_AMQP_MESSAGE_TOO_LARGE');
  }

  /** rhea's 'error' while reading: the client broke the protocol (bad handle, frame order, ...). */
  private readFailed(error: Error): void {
    const decode = error.name === 'ProtocolError' || error.name === 'TypeError';
    this.fail(decode ? AmqpCondition.DecodeError : AmqpCondition.NotAllowed, error.message, decode ? 'decode' : 'frame_semantics');
  }

  /** No AMQP open within the listener's connect timeout. */
  private timedOut(): void {
    this.logger().info({ event: 'transport.connect_timeout', code: 'OUTPOST_LISTENER_CONNECT_TIMEOUT', listener: this.info.listener, remoteAddress: this.info.remoteAddress }, 'no AMQP open within the connect timeout');
    this.stream.destroy();
  }

  /** The client's open arrived in time. */
  private opened(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const kept = this.connection as unknown as Performatives<'open'>;
    shareEmptyValues(kept.local.open);
    shareEmptyValues(kept.remote.open);
  }

  // ---- links ----------------------------------------------------------------------------

  /** The client sends on this link (hub receives): CBS requests, telemetry, method responses, twin requests. */
  private onReceiverOpen(receiver: Receiver): void {
    const address = parseLinkAddress(receiver.target?.address);
    receiver.set_target(receiver.target ?? {});
    receiver.set_source(receiver.source ?? {});
    (receiver as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size = this.ctx.limits.maxMessageBytes;
    AmqpConnection.shareAttachValues(receiver);
    if (address === undefined) return this.refuse(receiver, AmqpCondition.NotFound, `no such node: ${String(receiver.target?.address ?? '(none)')}`, 'OUTPOST_AMQP_LINK_REFUSED');
    if (address.kind === 'cbs') return serveCbsReceiver(receiver, this, REQUEST_LINK_CREDIT);
    this.withIdentity(receiver, address, (identity) => {
      switch (address.kind) {
        case 'events':
          return serveEventsLink(this.ctx, identity.link, receiver, { refuse: (condition, description, code) => this.refuse(receiver, condition, description, code) });
        case 'methods':
          return serveMethodResponses(this.ctx.services.methods, identity.link, receiver, REQUEST_LINK_CREDIT, () => this.logger());
        case 'twin':
          return serveTwinReceiver(this, identity.link, receiver, REQUEST_LINK_CREDIT);
        case 'c2d':
          return this.refuse(receiver, AmqpCondition.NotAllowed, 'a client cannot send to its devicebound node', 'OUTPOST_AMQP_LINK_REFUSED');
      }
    });
  }

  /** The client receives on this link (hub sends): CBS replies, module inputs, C2D, method requests, twin answers. */
  private onSenderOpen(sender: Sender): void {
    const address = parseLinkAddress(sender.source?.address);
    sender.set_source(sender.source ?? {});
    sender.set_target(sender.target ?? {});
    AmqpConnection.shareAttachValues(sender);
    if (address === undefined) return this.refuse(sender, AmqpCondition.NotFound, `no such node: ${String(sender.source?.address ?? '(none)')}`, 'OUTPOST_AMQP_LINK_REFUSED');
    if (address.kind === 'cbs') {
      this.cbsSenders.add(sender);
      return;
    }
    this.withIdentity(sender, address, (identity) => {
      const link = identity.link;
      switch (address.kind) {
        case 'events':
          if (address.moduleId === undefined) return this.refuse(sender, AmqpCondition.NotAllowed, 'a device has no module inputs to receive', 'OUTPOST_AMQP_LINK_REFUSED');
          link.moduleInputSender = sender;
          link.watchModuleInputs(sender);
          break;
        case 'methods':
          link.methodSender = sender;
          break;
        case 'twin':
          link.twinSender = sender;
          break;
        case 'c2d': {
          const c2d = this.ctx.services.c2d;
          if (address.moduleId !== undefined || c2d === undefined) return this.refuse(sender, AmqpCondition.NotAllowed, 'cloud-to-device messages are for devices only', 'OUTPOST_AMQP_LINK_REFUSED');
          link.c2dSender = sender;
          identity.detachC2d?.();
          identity.c2d?.close();
          identity.c2d = c2dLink(sender);
          identity.detachC2d = c2d.attach(link.deviceId, identity.c2d);
          break;
        }
      }
      this.ctx.services.clients.changed(link.identity);
    });
  }

  /**
   * Runs `serve` once the address's identity is authenticated on this connection: at once when it
   * put a token (or logged in with PLAIN), after a certificate check when the TLS client sent one;
   * otherwise the link is detached. No credit is given before, so nothing arrives on it meanwhile.
   */
  private withIdentity(link: Receiver | Sender, address: Exclude<LinkAddress, { kind: 'cbs' }>, serve: (identity: IdentityState) => void): void {
    const name = identityName(address.deviceId, address.moduleId);
    const known = this.identities.get(name);
    const attach = (identity: IdentityState) => {
      const chainProblem = this.authChainProblem(link, address, identity);
      if (chainProblem !== undefined) return this.refuse(link, AmqpCondition.UnauthorizedAccess, chainProblem, 'OUTPOST_AUTH_CHAIN_INVALID');
      identity.link.links.add(link);
      const modelId = (link.properties as Record<string, unknown> | undefined)?.[LinkProperty.ModelId];
      if (typeof modelId === 'string') this.logger().debug({ event: 'amqp.model_id', identity: name, modelId }, 'link names a model id');
      serve(identity);
    };
    if (known !== undefined) return attach(known);
    const peer = this.peerCertificate();
    if (peer === undefined) {
      return this.refuse(link, AmqpCondition.UnauthorizedAccess, `${name} is not authenticated on this connection (put a token on $cbs first)`, 'OUTPOST_AMQP_LINK_REFUSED');
    }
    void authenticateIdentity(this.ctx.authenticator, this.info, { deviceId: address.deviceId, moduleId: address.moduleId, token: undefined, peerCertificate: peer }, this.ctx.limits.clockSkewMs).then((check) => {
      if (!check.result.ok) return this.refuse(link, AmqpCondition.UnauthorizedAccess, check.result.detail, check.result.code ?? 'OUTPOST_AUTH_BAD_CREDENTIALS');
      if (link.is_closed()) return;
      attach(this.admit(address.deviceId, address.moduleId, check));
    });
  }

  /** A link's `com.microsoft:auth-chain`, when it carries one, must fit its identity and the actor that authenticated it. */
  private authChainProblem(link: Link, address: Exclude<LinkAddress, { kind: 'cbs' }>, identity: IdentityState): string | undefined {
    const chains = this.ctx.services.chains;
    const chain = (link.properties as Record<string, unknown> | undefined)?.[LinkProperty.AuthChain];
    if (chains === undefined || chain === undefined) return undefined;
    if (typeof chain !== 'string') return 'com.microsoft:auth-chain must be a string';
    return authChainProblem(chains, chain, address.deviceId, address.moduleId, identity.actor);
  }

  private peerCertificate(): PeerCertificate | undefined {
    const tls = this.stream as Partial<{ getPeerCertificate(detailed: boolean): PeerCertificate }>;
    const peer = typeof tls.getPeerCertificate === 'function' ? tls.getPeerCertificate(true) : undefined;
    return peer !== undefined && peer !== null && peer.raw !== undefined ? peer : undefined;
  }

  /** Detaches a link with an error; logged once per reason (rate-limited), the others go on. */
  private refuse(link: Link, condition: string, description: string, code: ErrorCode): void {
    this.ctx.refusals.warn(`amqp.link_refused:${code}:${condition}`, { event: 'amqp.link_refused', code, condition, reason: description, remoteAddress: this.info.remoteAddress, address: link.is_receiver() ? link.target?.address : link.source?.address }, 'AMQP link detached');
    this.forgetLink(link);
    link.close({ condition, description });
  }

  /** A link went (either side, or with its identity): it no longer serves that identity. */
  private forgetLink(link: Link): void {
    this.cbsSenders.delete(link as Sender);
    for (const identity of this.identities.values()) {
      const l = identity.link;
      if (!l.links.delete(link)) continue;
      if (l.methodSender === link) l.methodSender = undefined;
      if (l.twinSender === link) {
        l.twinSender = undefined;
        this.unsubscribeDesired(l);
      }
      if (l.moduleInputSender === link) {
        l.moduleInputSender = undefined;
        l.loseModuleInputs();
      }
      if (l.c2dSender === link) {
        l.c2dSender = undefined;
        identity.detachC2d?.();
        identity.detachC2d = undefined;
        identity.c2d?.close();
        identity.c2d = undefined;
      }
      this.ctx.services.clients.changed(l.identity);
    }
  }

  // ---- identities -------------------------------------------------------------------------

  /** CbsHandler: where a put-token's reply goes, the client's receiving link from `$cbs` (preferably on the same session). */
  replyLink(receiver: Receiver): Sender | undefined {
    let any: Sender | undefined;
    for (const sender of this.cbsSenders) {
      if (!sender.is_open()) continue;
      if (sender.session === receiver.session) return sender;
      any ??= sender;
    }
    return any;
  }

  /** CbsHandler: a malformed put-token request (rate-limited). */
  malformed(reason: string): void {
    this.ctx.refusals.warn('amqp.cbs_request_invalid', { event: 'amqp.cbs_request_invalid', code: 'OUTPOST_AMQP_CBS_REQUEST_INVALID', reason, remoteAddress: this.info.remoteAddress }, 'malformed CBS put-token request');
  }

  /** CbsHandler: authenticates (or renews) an identity from a put-token. */
  async putToken(deviceId: string, moduleId: string | undefined, token: string): Promise<PutTokenOutcome> {
    const check = await authenticateIdentity(this.ctx.authenticator, this.info, { deviceId, moduleId, token, peerCertificate: undefined }, this.ctx.limits.clockSkewMs);
    if (!check.result.ok) {
      this.ctx.refusals.warn(`amqp.auth_failed:${deviceId}`, { event: 'amqp.auth_failed', code: check.result.code ?? 'OUTPOST_AUTH_BAD_CREDENTIALS', identity: identityName(deviceId, moduleId), reason: check.result.logDetail ?? check.result.detail, remoteAddress: this.info.remoteAddress }, 'CBS put-token refused');
      const status = check.result.reason === 'busy' ? CbsStatus.InternalError : CbsStatus.Unauthorized;
      return { status, description: check.result.detail };
    }
    if (this.closing) return { status: CbsStatus.InternalError, description: 'the connection is closing' };
    this.admit(deviceId, moduleId, check);
    return { status: CbsStatus.Ok, description: 'OK' };
  }

  /** PlainLogin: a SASL PLAIN login (sasl-layer.ts). */
  async plainLogin(username: string, password: string): Promise<boolean> {
    const named = parsePlainUsername(username);
    if (named === undefined) return false;
    const check = await authenticateIdentity(this.ctx.authenticator, this.info, { deviceId: named.deviceId, moduleId: named.moduleId, token: password, peerCertificate: undefined }, this.ctx.limits.clockSkewMs);
    if (!check.result.ok) {
      this.ctx.refusals.warn(`amqp.auth_failed:${named.deviceId}`, { event: 'amqp.auth_failed', code: check.result.code ?? 'OUTPOST_AUTH_BAD_CREDENTIALS', identity: identityName(named.deviceId, named.moduleId), reason: check.result.logDetail ?? check.result.detail, remoteAddress: this.info.remoteAddress, sasl: 'PLAIN' }, 'SASL PLAIN login refused');
      return false;
    }
    this.admit(named.deviceId, named.moduleId, check);
    return true;
  }

  /** Authenticates (or renews) an identity on this connection and (re)arms its expiry. */
  private admit(deviceId: string, moduleId: string | undefined, check: IdentityCheck): IdentityState {
    const name = identityName(deviceId, moduleId);
    let identity = this.identities.get(name);
    if (identity === undefined && check.result.ok) {
      identity = { link: new AmqpClientLink(deviceId, moduleId, check.result.identity) };
      this.identities.set(name, identity);
      identity.link.unregister = this.ctx.services.clients.add(identity.link);
      this.logger().debug({ event: 'amqp.identity_authenticated', identity: name, identities: this.identities.size }, 'identity authenticated on an AMQP connection');
    }
    const state = identity!;
    // A renewal says who acts for the identity now (its own token, or an edge device's).
    if (check.result.ok) state.actor = check.result.actor;
    state.link.expiresAtMs = check.expiresAtMs;
    this.armExpiry(state);
    return state;
  }

  private armExpiry(identity: IdentityState): void {
    const link = identity.link;
    if (link.expiryTimer !== undefined) clearTimeout(link.expiryTimer);
    link.expiryTimer = undefined;
    if (!Number.isFinite(link.expiresAtMs)) return;
    const delayMs = Math.max(0, link.expiresAtMs - Date.now());
    // The connection and the identity as the timer's arguments: no closure per identity.
    link.expiryTimer = setTimeout(AmqpConnection.expiryDue, Math.min(delayMs, MAX_TIMER_MS), this, identity);
    link.expiryTimer.unref();
  }

  /** The identity's token expired without renewal: its links go, the connection's others stay. */
  private expire(identity: IdentityState): void {
    const link = identity.link;
    this.logger().info({ event: 'amqp.token_expired', code: 'OUTPOST_AUTH_TOKEN_EXPIRED', identity: link.identity, links: link.links.size }, 'SAS token expired; the identity\'s links are detached');
    for (const l of [...link.links]) {
      this.forgetLink(l);
      l.close({ condition: AmqpCondition.UnauthorizedAccess, description: 'the SAS token of this link\'s identity expired; put a new one on $cbs and attach again' });
    }
    this.removeIdentity(identity);
  }

  private removeIdentity(identity: IdentityState): void {
    const link = identity.link;
    if (link.expiryTimer !== undefined) clearTimeout(link.expiryTimer);
    link.unregister?.();
    identity.unsubscribeDesired?.();
    identity.detachC2d?.();
    identity.c2d?.close();
    link.loseModuleInputs();
    this.identities.delete(link.identity);
  }

  subscribeDesired(link: AmqpClientLink): void {
    const identity = this.identities.get(link.identity);
    if (identity === undefined || identity.unsubscribeDesired !== undefined) return;
    link.desiredSubscribed = true;
    identity.unsubscribeDesired = this.ctx.services.twins.subscribeDesired(link.identity, (notification) => sendDesiredPatch(link, notification.version, notification.patch, this));
    this.ctx.services.clients.changed(link.identity);
  }

  unsubscribeDesired(link: AmqpClientLink): void {
    const identity = this.identities.get(link.identity);
    link.desiredSubscribed = false;
    identity?.unsubscribeDesired?.();
    if (identity !== undefined) identity.unsubscribeDesired = undefined;
    this.ctx.services.clients.changed(link.identity);
  }

  // ---- connection -------------------------------------------------------------------------

  /** A protocol violation: close with the condition (after Open and the header if none went yet), then the socket. */
  private fail(condition: string, description: string, reason: string): void {
    this.ctx.protocolErrors.set(reason, (this.ctx.protocolErrors.get(reason) ?? 0) + 1);
    this.ctx.refusals.warn(`amqp.protocol_error:${reason}`, { event: 'amqp.protocol_error', code: 'OUTPOST_AMQP_PROTOCOL_ERROR', condition, reason: description, remoteAddress: this.info.remoteAddress }, 'AMQP protocol error; the connection is closed');
    this.closeWith(condition, description);
    this.stream.end();
  }

  private closeWith(condition: string, description: string): void {
    if (this.closing) return;
    this.closing = true;
    const internals = this.connection as unknown as { amqp_transport: { header_received?: unknown }; _process(): void };
    // An AMQP close is only meaningful once the client spoke AMQP (not mid-SASL, not garbage).
    if (internals.amqp_transport.header_received === undefined) {
      // Nothing in flight on a connection that never spoke AMQP (or is mid-SASL): close at once.
      this.stream.destroy();
      return;
    }
    if (!this.stream.destroyed) {
      try {
        this.connection.open();
        this.connection.close({ condition, description });
        // Now, not on the next tick: rhea ends the socket right after a read error.
        internals._process();
      } catch (error) {
        this.logger().debug({ event: 'amqp.close_failed', err: error }, 'could not write the AMQP close');
      }
    }
    setTimeout(() => this.stream.destroy(), CLOSE_GRACE_MS).unref();
  }

  private closed(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.closing = true;
    for (const identity of [...this.identities.values()]) this.removeIdentity(identity);
    this.cbsSenders.clear();
    this.ctx.closed(this);
  }
}
