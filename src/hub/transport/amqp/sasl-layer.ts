/**
 * The SASL mechanisms served (notes 6.1, `AmqpSettingsProvider.cs`): ANONYMOUS and MSSBCBS let the
 * client in without an identity (CBS put-token follows, or the TLS client certificate), PLAIN
 * authenticates one identity at once: user name `{d}@sas.{hub}` or `{d}/modules/{m}@sas.{hub}`,
 * password its SAS token. A client may also skip SASL entirely (the Azure SDK does: AMQP header
 * straight after TLS), which rhea's selective server allows while ANONYMOUS is offered.
 */
import type { Container } from 'rhea';
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

/**
 * Installs the mechanisms on a connection's own container; `plain` checks one PLAIN login and
 * resolves true when it verified (the connection then knows that identity).
 */
export function installSaslMechanisms(container: Container, plain: (username: string, password: string) => Promise<boolean>): void {
  // `any`: rhea's server mechanism table is an untyped object with methods.
  const mechanisms = (container as any).sasl_server_mechanisms;
  mechanisms.enable_anonymous();
  mechanisms[SaslMechanism.MsSbCbs] = admitting;
  mechanisms.enable_plain((username: string, password: string) => plain(username, password));
}
