// Every message a device or module sends gets an edge message id (`$.edgemid`, a random UUID).
// crypto.randomUUID formats its 16 random bytes by joining 20 short strings, and sampled under
// the AMQP routed load that was about 550 bytes of garbage per message (66 of the main thread's
// 782 MiB in 3 s), more than any other allocation in the hub's own code. Here the random bytes
// come from a pool refilled from the same CSPRNG, the 36 characters are written as bytes into a
// scratch buffer, and one latin1 string is made from it.
import { randomFillSync } from 'node:crypto';

const UUID_BYTES = 16;
const UUID_CHARS = 36;
/** UUIDs per refill of the random pool (4 KiB, as crypto.randomUUID's own cache is 2 KiB). */
const POOL_UUIDS = 256;

const pool = Buffer.allocUnsafe(UUID_BYTES * POOL_UUIDS);
let next = pool.length; // empty: filled on first use
const text = Buffer.alloc(UUID_CHARS);
/** For each byte value, its two lowercase hex digits as character codes, high then low. */
const HEX = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const digits = b.toString(16).padStart(2, '0');
  HEX[b * 2] = digits.charCodeAt(0);
  HEX[b * 2 + 1] = digits.charCodeAt(1);
}
/** Where each of the 16 bytes' two digits go in the 8-4-4-4-12 form. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
for (const dash of [8, 13, 18, 23]) text[dash] = 0x2d;

/** A random (version 4, RFC 9562) UUID in its lowercase 36-character form, as crypto.randomUUID makes. */
export function edgeMessageId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  for (let i = 0; i < UUID_BYTES; i++) {
    let b = pool[next + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    text[AT[i]!] = HEX[b * 2]!;
    text[AT[i]! + 1] = HEX[b * 2 + 1]!;
  }
  next += UUID_BYTES;
  return text.toString('latin1', 0, UUID_CHARS);
}
