// Piscina task file of the micro-worker-roundtrip benchmark: unpacks a transferred batch of
// msgpackr-encoded messages, does the least a shard does per message (reads its fields), and
// answers with one int32 per message (as a shard answers durable offsets), transferred back.
import { Packr } from 'msgpackr';
import { Piscina } from 'piscina';

// The store's settings (src/hub/store/message-codec.ts): every buffer self-describing.
const packr = new Packr({ useRecords: false, moreTypes: false });

type Packed = [source: string, body: Uint8Array, properties: (string | null)[], systemProperties: (string | null)[], enqueuedAtMs: number];

export default function roundTrip(task: { batch: Uint8Array }): unknown {
  const messages = packr.unpack(task.batch) as Packed[];
  const offsets = new Int32Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    offsets[i] = m[0].length + m[1].byteLength + m[2].length + m[3].length;
  }
  return Piscina.move(offsets);
}
