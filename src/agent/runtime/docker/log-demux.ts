import { PassThrough, type Readable } from 'node:stream';

/**
 * Docker's multiplexed log stream (containers without a TTY): frames of an 8-byte header
 * [stream, 0, 0, 0, size(uint32 BE)] and `size` bytes of stdout (1) or stderr (2). Frames may
 * be split across chunks; the payloads come out in order, both streams interleaved.
 */
export function demuxLogStream(input: Readable): Readable {
  const out = new PassThrough();
  let pending: Buffer = Buffer.alloc(0);
  input.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      out.write(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  });
  input.on('end', () => out.end());
  input.on('error', (error) => out.destroy(error));
  out.on('close', () => input.destroy());
  return out;
}
