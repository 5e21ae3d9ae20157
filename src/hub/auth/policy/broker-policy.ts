/**
 * The broker policy in force, replaced at run time from its source (a deployment, or the
 * configuration of a hub run alone), and what a replacement does to clients already in:
 *
 * - an invalid document changes nothing: the error (OUTPOST_AUTH_POLICY_INVALID, every problem
 *   with its path) is logged and the last good policy stays;
 * - a valid one is used for every decision from then on (publishes are checked one by one, so
 *   nothing more is needed for them), and each client loses exactly what it lost: a client no
 *   longer allowed to connect is disconnected (MQTT 5: DISCONNECT 0x87), a subscription no longer
 *   allowed is removed. Its other subscriptions, its connection and every other client stay.
 */
import type { Logger } from '../../../log/index.js';
import { Authorizer, DEFAULT_POLICY, type ConnectedClient, type Revocation } from './authorizer.js';

/** What the broker offers the policy: the clients it has sessions for, and how to take rights away. */
export interface PolicyTarget {
  /** Every session whose client identity is known, connected or waiting for its client. */
  policyClients(): Iterable<ConnectedClient>;
  /** Removes the revoked subscriptions; disconnects the client when `connect` was revoked. */
  revoke(revocation: Revocation): void;
}

export type PolicyUpdate = { readonly kind: 'unchanged' } | { readonly kind: 'rejected' } | { readonly kind: 'replaced'; readonly revoked: readonly Revocation[] };

export class BrokerPolicy {
  /** The document in force, as JSON: an identical document is not applied again. */
  private current: string;

  /** `initial` must already be the authorizer's policy (undefined: the default policy). */
  constructor(
    private readonly authorizer: Authorizer,
    private readonly logger: Logger,
    initial: unknown,
  ) {
    this.current = JSON.stringify(initial ?? DEFAULT_POLICY);
  }

  /**
   * Replaces the policy with `document` (undefined: the default policy). `source` names where it
   * came from in log lines (`deployment /etc/outpost/manifest.json`, `configuration …`).
   */
  replace(document: unknown, source: string, target: PolicyTarget): PolicyUpdate {
    const next = document ?? DEFAULT_POLICY;
    const text = JSON.stringify(next);
    if (text === this.current) return { kind: 'unchanged' };
    const result = this.authorizer.replacePolicy(next, target.policyClients());
    if (!result.ok) {
      this.logger.error(
        { event: 'auth.policy_rejected', code: result.error.code, source, problems: result.problems, reason: result.error.message },
        'authorization policy rejected; the previous policy stays in force',
      );
      return { kind: 'rejected' };
    }
    this.current = text;
    for (const revocation of result.revoked) {
      this.logger.info(
        { event: 'auth.policy_revoked', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', clientId: revocation.clientId, connect: revocation.connect, subscriptions: revocation.subscriptions },
        revocation.connect ? 'the new policy no longer lets this client connect: disconnected' : 'the new policy no longer allows these subscriptions: removed',
      );
      target.revoke(revocation);
    }
    this.logger.info({ event: 'auth.policy_replaced', source, default: document === undefined, revoked: result.revoked.length }, 'authorization policy replaced');
    return { kind: 'replaced', revoked: result.revoked };
  }

  /**
   * Applies the policy in force to sessions restored from disk, which were granted their
   * subscriptions under whatever policy was in force then: the ones no longer allowed go before
   * any message can reach them.
   */
  enforce(target: PolicyTarget): number {
    let removed = 0;
    for (const client of target.policyClients()) {
      const subscriptions = this.authorizer.deniedSubscriptions(client.identity, client.clientId, client.subscriptions);
      if (subscriptions.length === 0) continue;
      removed += subscriptions.length;
      this.logger.info({ event: 'auth.policy_revoked', code: 'OUTPOST_AUTH_NOT_AUTHORIZED', clientId: client.clientId, connect: false, subscriptions }, 'a restored session held subscriptions the policy does not allow: removed');
      target.revoke({ clientId: client.clientId, identity: client.identity, connect: false, subscriptions });
    }
    return removed;
  }
}
