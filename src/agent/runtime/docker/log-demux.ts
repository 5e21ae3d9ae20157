import { PassThrough, type Readable } from 'node:stream';
import type Dockerode from 'dockerode';

/**
 * Docker's multiplexed log stream (containers without a TTY: 8-byte frame headers saying stdout
 * or stderr) as one stream of the payloads in order, both streams interleaved, through
 * dockerode's demuxer. The output ends when the input ends or is closed (an aborted follow);
 * destroying the output destroys the input.
 */
export function demuxLogStream(modem: Dockerode['modem'], input: Readable): Readable {
  const out = new PassThrough();
  modem.demuxStream(input, out, out);
  input.on('end', () => out.end());
  input.on('close', () => out.end());
  input.on('error', (error) => out.destroy(error));
  out.on('close', () => input.destroy());
  return out;
}
