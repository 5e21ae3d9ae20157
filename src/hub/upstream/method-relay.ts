import rhea, { type EventContext, type Receiver, type Sender } from 'rhea';
import { bodyBytes } from '../amqp-common/index.js';
import { MethodHttpStatus, MethodLimits, type MethodService } from '../methods/index.js';
import { closeQuietly, relayLinkProperties } from './relay-link-options.js';
import { MethodWire, SettleMode, methodsAddress } from './upstream-constants.js';
import type { RelayLinkOptions } from './upstream-relay.js';

/** Credit for method requests from the parent: calls in flight at once for one identity. */
const REQUEST_CREDIT = 100;

export interface MethodRelayOptions extends RelayLinkOptions {
  readonly moduleId: string | undefined;
  readonly methods: MethodService;
}

/**
 * Direct methods relayed down (Azure's SDK's link pair on `/devices/{d}[/modules/{m}]/methods/devicebound`):
 * each request from the parent (`IoThub-methodname`, a correlation-id) is invoked on the identity
 * through this hub's MethodService — so it reaches the client whatever its protocol — and the
 * answer goes back with the same correlation-id and `IoThub-status`. When the call fails here
 * (the client went, its link refused it), the status is the hub's HTTP status and the payload the
 * hub's error body; a call that times out here is not answered (the parent's own timeout, at most
 * the same 300 s, has answered its caller by then).
 */
export class MethodRelay {
  private readonly receiver: Receiver;
  private readonly sender: Sender;
  private closed = false;

  constructor(private readonly options: MethodRelayOptions) {
    const address = methodsAddress(options.deviceId, options.moduleId);
    const properties = relayLinkProperties(options.clientVersion, 'methods', options.authChain);
    this.receiver = options.session.attach_receiver({ source: { address }, target: {}, properties, rcv_settle_mode: SettleMode.ReceiverFirst, autoaccept: true, credit_window: REQUEST_CREDIT });
    this.sender = options.session.attach_sender({ target: { address }, source: {}, properties, rcv_settle_mode: SettleMode.ReceiverFirst, autosettle: true });
    this.receiver.on('message', (context: EventContext) => this.request(context));
    for (const link of [this.receiver, this.sender]) {
      link.on(link === this.receiver ? 'receiver_close' : 'sender_close', () => this.lost(link.error));
      link.on(link === this.receiver ? 'receiver_error' : 'sender_error', () => this.lost(link.error));
    }
  }

  close(): void {
    this.closed = true;
    closeQuietly(this.receiver);
    closeQuietly(this.sender);
  }

  private lost(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.options.failed((error as { condition?: string } | undefined)?.condition);
  }

  private request(context: EventContext): void {
    const message = context.message;
    if (message === undefined) return;
    const correlationId = message.correlation_id;
    const methodName = ((message.application_properties ?? {}) as Record<string, unknown>)[MethodWire.MethodName];
    if (correlationId === undefined || typeof methodName !== 'string') {
      this.options.logger.info({ event: 'upstream.method_request_invalid', deviceId: this.options.deviceId, moduleId: this.options.moduleId }, 'a method request from the parent without a correlation-id or a method name');
      return;
    }
    const payload = parseJson(bodyBytes(message.body));
    const call = { methodName, payload, responseTimeoutInSeconds: MethodLimits.maxResponseTimeoutSec, connectTimeoutInSeconds: 0 };
    void this.options.methods.invoke(this.options.deviceId, this.options.moduleId, call, 'upstream').then((answer) => {
      if (this.closed || answer.httpStatus === MethodHttpStatus.GatewayTimeout) return;
      const ok = answer.httpStatus === MethodHttpStatus.Ok;
      const body = answer.body as { status?: number; payload?: unknown };
      const status = ok ? Number(body.status) : answer.httpStatus;
      const out = ok ? body.payload : answer.body;
      this.sender.send({
        correlation_id: correlationId,
        application_properties: { [MethodWire.Status]: status },
        body: rhea.message.data_section(Buffer.from(JSON.stringify(out ?? null))),
      });
    });
  }
}

/** A method request's payload from the parent is JSON; one that is not is passed on as its text. */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) return null;
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
