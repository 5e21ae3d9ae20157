/**
 * The CBS node (`$cbs`, notes 6.1, `CbsNode.cs`): a client sends put-token requests on a link to
 * `$cbs` and reads the replies on a link from `$cbs`. Each request names an identity (the audience
 * `name`: `{host}/devices/{d}[/modules/{m}]`) and carries its SAS token; the reply has
 * `status-code` (200, 400 for a malformed request, 401 for a token that does not verify, 500)
 * and `status-description`, correlated by the request's message-id. A good token authenticates
 * that identity on this connection (or renews it); it is authorized on its own, so one connection
 * carries as many identities as put tokens.
 */
import rhea, { type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { Cbs, CbsStatus } from './amqp-constants.js';
import { parseCbsAudience } from './link-address.js';

export type PutTokenOutcome = { readonly status: number; readonly description: string };

export interface CbsHandler {
  /** Authenticates (or renews) the identity; resolves with the reply's status and text. */
  putToken(deviceId: string, moduleId: string | undefined, token: string): Promise<PutTokenOutcome>;
  /** Where the reply goes: the client's receiving link from `$cbs` (preferably on the same session). */
  replyLink(receiver: Receiver): Sender | undefined;
  /** Logs a malformed request (rate-limited). */
  malformed(reason: string): void;
}

/** Validates a put-token request; the reason is safe to send back (it never quotes the token). */
export function checkPutToken(message: Message): { ok: true; deviceId: string; moduleId: string | undefined; token: string } | { ok: false; reason: string } {
  const properties = message.application_properties as Record<string, unknown> | undefined;
  if (properties === undefined || properties === null) return { ok: false, reason: 'a put-token request needs application properties operation, type and name' };
  if (properties[Cbs.Operation] !== Cbs.PutToken) return { ok: false, reason: `unsupported CBS operation ${JSON.stringify(properties[Cbs.Operation] ?? null)}; only put-token is served` };
  const type = properties[Cbs.Type];
  if (typeof type !== 'string' || !Cbs.SasTokenTypes.includes(type)) return { ok: false, reason: `unsupported token type ${JSON.stringify(type ?? null)}; a SAS token (${Cbs.SasTokenTypes.join(' or ')}) is required` };
  const audience = parseCbsAudience(properties[Cbs.Name]);
  if (audience === undefined) return { ok: false, reason: 'the audience (name) is not {host}/devices/{device}[/modules/{module}]' };
  const body = message.body as unknown;
  const token = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : undefined;
  if (token === undefined || token.length === 0) return { ok: false, reason: 'the request body must be the SAS token as a string' };
  return { ok: true, deviceId: audience.deviceId, moduleId: audience.moduleId, token };
}

export function serveCbsReceiver(receiver: Receiver, handler: CbsHandler, credit: number): void {
  receiver.on('message', (context: EventContext) => {
    const { message, delivery } = context;
    if (message === undefined || delivery === undefined) return;
    // The request is taken whatever it says; the answer is in the reply.
    delivery.accept();
    if (receiver.is_open()) receiver.add_credit(1);
    const reply = (outcome: PutTokenOutcome) => {
      const link = handler.replyLink(receiver);
      if (link === undefined || !link.is_open()) return;
      link.send({
        correlation_id: message.message_id,
        ...(typeof message.reply_to === 'string' ? { to: message.reply_to } : {}),
        application_properties: { [Cbs.StatusCode]: rhea.types.wrap_int(outcome.status), [Cbs.StatusDescription]: outcome.description },
        body: undefined,
      });
    };
    const checked = checkPutToken(message);
    if (!checked.ok) {
      handler.malformed(checked.reason);
      reply({ status: CbsStatus.BadRequest, description: checked.reason });
      return;
    }
    handler.putToken(checked.deviceId, checked.moduleId, checked.token).then(reply, () => reply({ status: CbsStatus.InternalError, description: 'the token could not be checked' }));
  });
  receiver.add_credit(credit);
}
