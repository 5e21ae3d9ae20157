import type { AuthResult, Authenticator, ConnectCredentials } from './authenticator.js';

/** One result for every anonymous client: the connection and its session keep it (issue 20: no object per connection). */
const ANONYMOUS: AuthResult = Object.freeze({ ok: true, identity: Object.freeze({ kind: 'anonymous' }) });

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
      return ANONYMOUS;
    }
    if (this.next !== undefined) return this.next.authenticate(credentials);
    return anonymous
      ? { ok: false, reason: 'not-authorized', detail: 'anonymous clients are allowed only on the plain listener with mqttPlain.allowAnonymous' }
      : { ok: false, reason: 'bad-credentials', detail: 'no identity registry can verify these credentials' };
  }
}
