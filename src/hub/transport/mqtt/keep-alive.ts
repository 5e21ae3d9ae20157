/** Keep Alive and Server Keep Alive are two-byte integers (MQTT 5 sections 3.1.2.10 and 3.2.2.3.14). */
export const MAX_KEEP_ALIVE_SEC = 0xffff;

/**
 * The keep-alive the hub enforces for a client, from what its CONNECT asked for and the hub's cap
 * (`mqtt.maxKeepAlive`). When it differs from the request an MQTT 5 CONNACK carries it as Server
 * Keep Alive, which the client must then use (MQTT-3.2.2-21).
 *
 * - MQTT 5: a request above the cap, or 0 (no keep-alive), gets the cap. The hub can tell the
 *   client, so it never keeps a silent connection open forever (section 3.1.2.10 lets the server
 *   impose a value even on a client that asked for none).
 * - MQTT 3.1.1 has no way to tell the client, and a client pinging at the interval it asked for
 *   would be cut off by a shorter one: the request stands, 0 included (MQTT-3.1.2-24 only bounds
 *   the wait by what the client asked).
 *
 * The cap is clamped to 1..65535 s: a configured value past the 16-bit field would make the
 * CONNACK unencodable, and 0 would turn a capped request into no keep-alive at all.
 */
export function negotiateKeepAlive(requestedSec: number, maxKeepAliveSec: number, protocolVersion: 3 | 4 | 5): number {
  if (protocolVersion !== 5) return requestedSec;
  const capSec = Math.min(Math.max(maxKeepAliveSec, 1), MAX_KEEP_ALIVE_SEC);
  return requestedSec === 0 || requestedSec > capSec ? capSec : requestedSec;
}
