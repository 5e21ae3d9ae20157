import type { AuthResult, Authenticator, ConnectCredentials } from './authenticator.js';

/**
 * `mqttPlain.allowAnonymous`: clients without credentials may connect to the plain MQTT listener
 * (loopback unless forced) and use user topics. Anything else is delegated — to the identity
 * registry once present; without one, refused.
 */
export class AnonymousAuthenticator implements Authenticator {
  constructor(
    private readonly allowAnonymous: boolean,
    private readonly next: Authenticator | undefined,
  ) {}

  authenticate(credentials: ConnectCredentials): Promise<AuthResult> | AuthResult {
    const anonymous = credentials.anonymous;
    if (anonymous && this.allowAnonymous && credentials.listener === 'mqttPlain') {
      return { ok: true, identity: { kind: 'anonymous' } };
    }
    if (this.next !== undefined) return this.next.authenticate(credentials);
    return anonymous
      ? { ok: false, reason: 'not-authorized', detail: 'anonymous clients are allowed only on the plain listener with mqttPlain.allowAnonymous' }
      : { ok: false, reason: 'bad-credentials', detail: 'no identity registry can verify these credentials' };
  }
}
