/**
 * Rejects a delivery in a disposition batch of its own.
 *
 * rhea 3.0.5 writes the dispositions of a session's updated deliveries in ranges
 * (session.js `write_dispositions`), and merges the second delivery of a range into the first's
 * whatever its outcome: a transfer accepted and the next one rejected in the same tick leave as
 * one disposition `first..last` with the first's state, `accepted`. The sender then drops a
 * message the store refused (with the store full, say), which breaks "accepted only once the
 * store has it"; the other way round, an accepted message is reported rejected and sent again.
 * Writing the batch pending before the rejection, then the rejection by itself, keeps every
 * rejection out of a range (ranges of one outcome stay batched, as before).
 */
import type { Delivery, Session } from 'rhea';

interface RheaIncoming {
  updated: unknown[];
  process(session: Session): void;
}

/** Writes the session's pending dispositions now (what rhea does on its next processing of the session). */
function flush(session: Session | undefined): void {
  if (session === undefined || !session.is_open()) return;
  const incoming = (session as unknown as { incoming?: RheaIncoming }).incoming;
  if (incoming !== undefined && incoming.updated.length > 0) incoming.process(session);
}

export function rejectAlone(delivery: Delivery, error: { condition: string; description: string }): void {
  const session = (delivery.link as { session?: Session } | undefined)?.session;
  flush(session);
  delivery.reject(error);
  flush(session);
}
