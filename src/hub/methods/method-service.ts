import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log/index.js';
import type { ClientLink, ConnectedClients } from '../core/index.js';
import { MethodHttpStatus, MethodLimits, methodError, type MethodAnswer, type MethodCall } from './method-types.js';

export interface MethodServiceOptions {
  readonly clients: ConnectedClients;
  /** Whether `deviceId[/moduleId]` is a device or module this edge device owns (its registry scope). */
  readonly inScope: (deviceId: string, moduleId: string | undefined) => boolean;
  readonly logger: Logger;
  /** Metrics of direct-method calls (src/metrics). */
  readonly observer?: MethodObserver;
}

/** Told of every call once answered: who called (`operator` for the CLI), the target, how long it took. */
export interface MethodObserver {
  invoked(from: string, to: string, seconds: number): void;
}

interface PendingCall {
  readonly target: string;
  readonly link: ClientLink;
  readonly resolve: (answer: MethodAnswer) => void;
  readonly timer: NodeJS.Timeout;
}

/** A method the hub answers itself for one of its own identities (e.g. `$edgeHub`'s RefreshDeviceScopeIdentityCache). */
export type LocalMethodHandler = (call: MethodCall) => Promise<MethodAnswer>;

/**
 * Direct methods, whatever carries the call and whatever link the target uses: the core picks the
 * target's live link subscribed to methods, sends the request with a fresh request id, and answers
 * the caller when the target responds (MethodService.respond, called by the target's transport)
 * or after `responseTimeoutInSeconds` (504), or 404 if its connection closes first. A target outside this edge device's scope is 404
 * DeviceNotFound; one that is not connected, or not subscribed to methods, is 404 DeviceNotOnline
 * at once (no waiting out `connectTimeoutInSeconds`: see docs/methods.md).
 */
export class MethodService {
  private readonly pending = new Map<string, PendingCall>();
  private readonly local = new Map<string, LocalMethodHandler>();
  private closed = false;

  constructor(private readonly options: MethodServiceOptions) {
    options.clients.onRemoved((link) => this.linkClosed(link));
  }

  /**
   * Calls to `target` (`device/module`) are answered by `handler` in this process, not sent to a
   * client: the hub's own module identity has no client connection to send them on.
   */
  handleLocally(target: string, handler: LocalMethodHandler): void {
    this.local.set(target, handler);
  }

  /** Whether calls to `target` are answered here (the upstream relay then takes them from the parent). */
  handlesLocally(target: string): boolean {
    return this.local.has(target);
  }

  /** Calls in flight (diagnostics, tests). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** `from`: the caller's identity (`device/module`), or `operator` for `outpost method`. */
  invoke(deviceId: string, moduleId: string | undefined, call: MethodCall, from = 'operator'): Promise<MethodAnswer> {
    const observer = this.options.observer;
    if (observer === undefined) return this.call(deviceId, moduleId, call);
    const startedAt = performance.now();
    const answer = this.call(deviceId, moduleId, call);
    const to = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    return answer.finally(() => observer.invoked(from, to, (performance.now() - startedAt) / 1000));
  }

  private call(deviceId: string, moduleId: string | undefined, call: MethodCall): Promise<MethodAnswer> {
    const target = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    if (this.closed) return Promise.resolve(methodError(MethodHttpStatus.NotFound, 'DeviceNotOnline', 'the hub is stopping'));
    // The hub's own identities: answered here, whatever the registry says about them.
    const handler = this.local.get(target);
    if (handler !== undefined) return handler(call);
    if (!this.options.inScope(deviceId, moduleId)) {
      return Promise.resolve(methodError(MethodHttpStatus.NotFound, 'DeviceNotFound', `${moduleId === undefined ? 'device' : 'module'} ${target} is not a device or module of this edge device`));
    }
    const link = this.options.clients.linkFor(target, 'methods');
    if (link === undefined) {
      const why = this.options.clients.isConnected(target) ? 'is connected but not subscribed to direct methods' : 'is not connected';
      return Promise.resolve(methodError(MethodHttpStatus.NotFound, 'DeviceNotOnline', `${target} ${why}`));
    }
    const requestId = randomUUID();
    return new Promise<MethodAnswer>((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(requestId)) {
          this.options.logger.info({ event: 'method.timeout', target, methodName: call.methodName, requestId, timeoutSec: call.responseTimeoutInSeconds }, 'direct method timed out');
          resolve(methodError(MethodHttpStatus.GatewayTimeout, 'GatewayTimeout', `${target} did not answer ${call.methodName} within ${call.responseTimeoutInSeconds} s`));
        }
      }, call.responseTimeoutInSeconds * 1000);
      this.pending.set(requestId, { target, link, resolve, timer });
      const sent = link.sendMethodRequest({ requestId, methodName: call.methodName, payload: Buffer.from(JSON.stringify(call.payload ?? null)) });
      if (!sent) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve(methodError(MethodHttpStatus.NotFound, 'DeviceNotOnline', `${target} could not be sent the request (its ${link.protocol} connection refused it)`));
      }
    });
  }

  /**
   * The target's answer, from its transport. False when there is no such call, or it belongs to
   * another identity (a client cannot answer calls made to someone else); the transport logs that.
   */
  respond(responder: string, requestId: string, status: number, payload: Buffer): boolean {
    const call = this.pending.get(requestId);
    if (call === undefined || call.target !== responder) return false;
    this.pending.delete(requestId);
    clearTimeout(call.timer);
    if (payload.length > MethodLimits.maxPayloadBytes) {
      call.resolve(methodError(MethodHttpStatus.PayloadTooLarge, 'RequestEntityTooLarge', `the response payload from ${responder} is ${payload.length} bytes; a method payload is at most ${MethodLimits.maxPayloadBytes} bytes`));
      return true;
    }
    call.resolve({ httpStatus: MethodHttpStatus.Ok, body: { status, payload: parsePayload(payload) } });
    return true;
  }

  /** The target's connection closed: its calls in flight cannot be answered any more (404 at once). */
  private linkClosed(link: ClientLink): void {
    if (this.pending.size === 0) return;
    for (const [requestId, call] of this.pending) {
      if (call.link !== link) continue;
      clearTimeout(call.timer);
      this.pending.delete(requestId);
      call.resolve(methodError(MethodHttpStatus.NotFound, 'DeviceNotOnline', `${call.target} disconnected before answering`));
    }
  }

  /** Stops: calls in flight are answered 404 DeviceNotOnline (their targets' links are going). */
  close(): void {
    this.closed = true;
    for (const [requestId, call] of this.pending) {
      clearTimeout(call.timer);
      this.pending.delete(requestId);
      call.resolve(methodError(MethodHttpStatus.NotFound, 'DeviceNotOnline', 'the hub is stopping'));
    }
  }
}

/** A response body is JSON; an empty one is null, and text that is not JSON is kept as a string. */
function parsePayload(payload: Buffer): unknown {
  if (payload.length === 0) return null;
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
