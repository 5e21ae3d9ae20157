import type { ErrorCode } from '../../errors/index.js';
import type { AuthResult } from './authenticator.js';

export type AuthFailure = Extract<AuthResult, { ok: false }>;

/** What the client is told when it should not learn more (unknown identity vs wrong key). */
export const GENERIC_DETAIL = 'credentials do not verify for this identity';

/**
 * A refusal: `detail` may reach the client, `logDetail` only the log; neither ever holds a key,
 * token, signature or certificate. Disabled identities are `not-authorized`, everything else
 * `bad-credentials` (MQTT 3.1.1 return codes 5 and 4).
 */
export function authFailure(code: ErrorCode, detail: string, logDetail?: string): AuthFailure {
  const reason = code === 'OUTPOST_AUTH_IDENTITY_DISABLED' ? 'not-authorized' : 'bad-credentials';
  return logDetail === undefined ? { ok: false, reason, code, detail } : { ok: false, reason, code, detail, logDetail };
}
