/**
 * The SASL mechanisms served (notes 6.1, `AmqpSettingsProvider.cs`): ANONYMOUS and MSSBCBS let the
 * client in without an identity (CBS put-token follows, or the TLS client certificate), PLAIN
 * authenticates one identity at once: user name `{d}@sas.{hub}` or `{d}/modules/{m}@sas.{hub}`,
 * password its SAS token. A client may also skip SASL entirely (the Azure SDK does: AMQP header
 * straight after TLS), which rhea's selective server allows while ANONYMOUS is offered.
 */
import rhea from 'rhea';
import { SaslMechanism } from './amqp-constants.js';

/** The identity a SASL PLAIN user name names, or undefined (`SaslIdentityHelper.cs`). */
export function parsePlainUsername(username: unknown): { deviceId: string; moduleId: string | undefined } | undefined {
  if (typeof username !== 'string') return undefined;
  const match = /^([^/@]+)(?:\/modules\/([^/@]+))?@sas\.[^@/]+$/i.exec(username);
  if (match === null) return undefined;
  return { deviceId: match[1]!, moduleId: match[2] };
}

/** An AnonymousServer-like mechanism object, as rhea's SASL server drives it. */
function admitting(): { outcome: boolean | undefined; username: string | undefined; start(): void } {
  return {
    outcome: undefined,
    username: undefined,
    start() {
      this.outcome = true;
    },
  };
}

/** Who checks a connection's SASL PLAIN login: resolves true when it verified (the connection then knows that identity). */
export interface PlainLogin {
  plainLogin(username: string, password: string): Promise<boolean>;
}

type Factory = () => unknown;
/** rhea's server mechanism table: its `enable_*` methods on the prototype, the offered mechanisms as own properties. */
type Mechanisms = Record<string, Factory> & { enable_anonymous(): void; enable_plain(callback: (username: string, password: string) => unknown): void };
interface PlainServer {
  [LOGIN]?: PlainLogin;
}

const LOGIN = Symbol('outpost.plainLogin');
// `any`: rhea's sasl module is untyped.
const sasl = (rhea as any).sasl as { server_mechanisms(): Mechanisms };

/** rhea's own ANONYMOUS factory (it keeps no state, so one serves every connection) and its PlainServer class. */
const probe = sasl.server_mechanisms();
probe.enable_anonymous();
probe.enable_plain(() => false);
const anonymous = probe[SaslMechanism.Anonymous]!;
const PlainServerClass = (probe[SaslMechanism.Plain]!() as object).constructor as new (callback: (this: PlainServer, username: string, password: string) => unknown) => PlainServer;

/** rhea's PlainServer calls its callback as a method: the server knows its connection's PlainLogin. */
function plainCallback(this: PlainServer, username: string, password: string): Promise<boolean> {
  return this[LOGIN]!.plainLogin(username, password);
}

/** A connection's PLAIN factory, bound to its PlainLogin. */
function plainServer(this: PlainLogin): PlainServer {
  const server = new PlainServerClass(plainCallback);
  server[LOGIN] = this;
  return server;
}

/**
 * The mechanisms a connection's container offers, as rhea's `enable_anonymous` and `enable_plain`
 * make them, in the same order (ANONYMOUS, MSSBCBS, PLAIN): the factories of the first two are
 * shared by every connection, the PLAIN one is bound to `login` (rhea's are a closure each).
 */
export function serverMechanisms(login: PlainLogin): Mechanisms {
  const mechanisms = sasl.server_mechanisms();
  mechanisms[SaslMechanism.Anonymous] = anonymous;
  mechanisms[SaslMechanism.MsSbCbs] = admitting;
  mechanisms[SaslMechanism.Plain] = plainServer.bind(login);
  return mechanisms;
}
