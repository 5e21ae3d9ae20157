/**
 * rhea writes every AMQP frame with a socket.write of its own, at once (Transport.write, called
 * by each _write_frame): over TLS that is one TLS record and one syscall per transfer and per
 * disposition, which made writing most of the cost of sending module inputs. This corks the
 * stream at the first write of a tick and uncorks it on process.nextTick, so the frames rhea
 * writes while handling one read (or one batch from the store) leave in one writev: one record
 * run, one syscall; over WebSocket one message (WebSocketDuplex._writev).
 *
 * Nothing waits longer than the current tick. `end()` uncorks by itself (Writable.end), so a
 * close frame written just before it still goes first; an uncork after that is a no-op.
 */
import type { Duplex } from 'node:stream';

export function coalesceWrites(stream: Duplex): void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  const write = stream.write;
  stream.write = function coalescedWrite(this: Duplex, ...args: Parameters<Duplex['write']>): boolean {
    if (!corked) {
      corked = true;
      this.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: Parameters<Duplex['write']>) => boolean).apply(this, args);
  } as Duplex['write'];
}
