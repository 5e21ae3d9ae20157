/**
 * Bounds on what a client can make rhea buffer, which rhea itself does not enforce:
 *
 * - Frames: rhea waits for as many bytes as a frame header announces (up to 4 GiB). A frame
 *   larger than the max-frame-size we announced in Open (AMQP 1.0 section 2.7.1: the peer MUST
 *   NOT send larger) closes the connection with `amqp:connection:framing-error`, as does one
 *   shorter than its own 8-byte header.
 * - Messages: rhea concatenates the frames of a multi-frame transfer without limit. Once a
 *   delivery passes the link's max-message-size its frames are dropped instead of kept, the
 *   delivery is rejected with `amqp:link:message-size-exceeded` when its last frame arrives, and
 *   the link is detached with that condition (section 2.7.3).
 *
 * Both hook into rhea's objects (its `input` and a session's `incoming.on_transfer`) because it
 * has no option for either; the hooks cost one comparison per read and per transfer frame.
 */
import rhea, { type Connection, type Receiver, type Session } from 'rhea';
import { AmqpCondition, MIN_FRAME_BYTES } from './amqp-constants.js';

interface RheaConnectionInternals {
  input(buffer: Buffer): void;
  frame_size: number | undefined;
  previous_input: Buffer | null | undefined;
}

/** Wraps the connection's input (before `accept`) so an oversize frame closes it with an error. */
export function guardFrames(connection: Connection, maxFrameBytes: number, onViolation: (description: string) => void): void {
  const internals = connection as unknown as RheaConnectionInternals;
  const input = internals.input;
  let violated = false;
  internals.input = function guardedInput(this: RheaConnectionInternals, buffer: Buffer): void {
    if (violated) return;
    input.call(this, buffer);
    const announced = this.frame_size;
    if (announced !== undefined && (announced > maxFrameBytes || announced < MIN_FRAME_BYTES)) {
      violated = true;
      onViolation(`a frame of ${announced} bytes was announced; this hub takes frames of ${MIN_FRAME_BYTES} to ${maxFrameBytes} bytes`);
    } else if (this.previous_input !== null && this.previous_input !== undefined && this.previous_input.length > maxFrameBytes) {
      violated = true;
      onViolation('unframed input beyond the largest frame');
    }
  };
}

interface IncomingDelivery {
  id: number;
  frames: Buffer[];
  update(settled: boolean | undefined, state: unknown): void;
}

interface RheaIncoming {
  next_transfer_id: number;
  on_transfer(frame: TransferFrame, receiver: Receiver): void;
}

interface TransferFrame {
  performative: { more?: boolean; delivery_id?: number };
  payload?: Buffer;
}

interface ReceiverInternals {
  _incomplete: IncomingDelivery | undefined;
  credit: number;
  delivery_count: number;
}

/**
 * Wraps a session's incoming transfers so no delivery on it buffers more than `maxMessageBytes`;
 * `onOversize` is called once per oversize delivery, with its receiver (to detach it).
 */
export function guardMessageSize(session: Session, maxMessageBytes: number, onOversize: (receiver: Receiver) => void): void {
  const incoming = (session as unknown as { incoming: RheaIncoming }).incoming;
  const onTransfer = incoming.on_transfer;
  const bytes = new WeakMap<IncomingDelivery, number>();
  const oversize = new WeakSet<IncomingDelivery>();
  const refuse = (delivery: IncomingDelivery, receiver: Receiver) => {
    oversize.add(delivery);
    delivery.frames = [];
    onOversize(receiver);
  };
  incoming.on_transfer = function guardedTransfer(this: RheaIncoming, frame: TransferFrame, receiver: Receiver): void {
    const link = receiver as unknown as ReceiverInternals;
    const size = frame.payload?.length ?? 0;
    const current = link._incomplete;
    if (current === undefined) {
      onTransfer.call(this, frame, receiver);
      const started = link._incomplete;
      if (started === undefined) return;
      bytes.set(started, size);
      if (size > maxMessageBytes) refuse(started, receiver);
      return;
    }
    const total = (bytes.get(current) ?? 0) + size;
    if (!oversize.has(current) && total <= maxMessageBytes) {
      bytes.set(current, total);
      onTransfer.call(this, frame, receiver);
      return;
    }
    if (!oversize.has(current)) refuse(current, receiver);
    // Frames of a delivery already refused are counted (session window) but not kept.
    this.next_transfer_id++;
    if (frame.performative.more === true) return;
    // Its last frame: what rhea does on completion, minus decoding, and the delivery rejected.
    link._incomplete = undefined;
    if (link.credit > 0) link.credit--;
    link.delivery_count++;
    current.update(true, (rhea.message as unknown as { rejected(fields: unknown): { described(): unknown } }).rejected({ error: { condition: AmqpCondition.MessageSizeExceeded, description: `the message is larger than ${maxMessageBytes} bytes` } }).described());
  };
}
