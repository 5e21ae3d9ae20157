// The credentials file a storm or module client reads (written by bench/lib/sas-devices.ts's
// writeCredentialsFile): one `clientId<TAB>username<TAB>password` line per client, in order. The
// harness signs the tokens; a generator only sends them. Read from a file, not from the command
// line, so tokens do not show in the process list.
import { readFileSync } from 'node:fs';
import type { ConnectCredentials } from './mqtt-wire.js';

export interface CredentialsLine {
  readonly clientId: string;
  readonly credentials: ConnectCredentials;
}

/** The first `count` lines of `file`; throws when there are fewer or one is malformed. */
export function readCredentials(file: string, count: number): CredentialsLine[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').slice(0, count);
  if (lines.length < count) throw new Error(`credentials file has ${lines.length} lines for ${count} clients`);
  return lines.map((line) => {
    const [clientId, username, password] = line.split('\t');
    if (clientId === undefined || username === undefined || password === undefined) throw new Error('credentials line is not id<TAB>username<TAB>password');
    return { clientId, credentials: { username, password } };
  });
}
