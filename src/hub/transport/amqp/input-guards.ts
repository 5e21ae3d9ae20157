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

/** What a guarded connection answers to: its largest frame, and what to do with one too large (once). */
export interface FrameGuard {
  readonly maxFrameBytes: number;
  frameViolated(description: string): void;
}

/** What a guarded session answers to: its largest message, and what to do with a receiver that sent one too large (once per delivery). */
export interface MessageSizeGuard {
  readonly maxMessageBytes: number;
  messageTooLarge(receiver: Receiver): void;
}

// A guarded connection and a session's incoming side keep their guard and rhea's function they
// wrap (`outpost…` properties): the wrappers below are one function each for every connection and
// session (a closure each, and their context, before). Named properties, not symbols: V8 turns
// an object with many properties into a dictionary when one more is added by a computed key.

interface RheaConnectionInternals {
  input(buffer: Buffer): void;
  frame_size: number | undefined;
  previous_input: Buffer | null | undefined;
  outpostFrameGuard?: FrameGuard;
  outpostInput?: (this: RheaConnectionInternals, buffer: Buffer) => void;
  outpostFramesViolated?: true;
}

function guardedInput(this: RheaConnectionInternals, buffer: Buffer): void {
  if (this.outpostFramesViolated === true) return;
  this.outpostInput!.call(this, buffer);
  const guard = this.outpostFrameGuard!;
  const maxFrameBytes = guard.maxFrameBytes;
  const announced = this.frame_size;
  if (announced !== undefined && (announced > maxFrameBytes || announced < MIN_FRAME_BYTES)) {
    this.outpostFramesViolated = true;
    guard.frameViolated(`a frame of ${announced} bytes was announced; this hub takes frames of ${MIN_FRAME_BYTES} to ${maxFrameBytes} bytes`);
  } else if (this.previous_input !== null && this.previous_input !== undefined && this.previous_input.length > maxFrameBytes) {
    this.outpostFramesViolated = true;
    guard.frameViolated('unframed input beyond the largest frame');
  }
}

/** Wraps the connection's input (before `accept`) so an oversize frame closes it with an error (`guard.frameViolated`, once). */
export function guardFrames(connection: Connection, guard: FrameGuard): void {
  const internals = connection as unknown as RheaConnectionInternals;
  internals.outpostInput = internals.input;
  internals.outpostFrameGuard = guard;
  internals.input = guardedInput;
}

interface IncomingDelivery {
  id: number;
  frames: Buffer[];
  update(settled: boolean | undefined, state: unknown): void;
}

interface RheaIncoming {
  next_transfer_id: number;
  on_transfer(frame: TransferFrame, receiver: Receiver): void;
  outpostSizeGuard?: MessageSizeGuard;
  outpostGuardedTransfer?: (this: RheaIncoming, frame: TransferFrame, receiver: Receiver) => void;
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

/** Bytes so far of the multi-frame deliveries being received (a delivery is one session's). */
const deliveryBytes = new WeakMap<IncomingDelivery, number>();
/** Deliveries already found too large: their further frames are counted, not kept. */
const oversize = new WeakSet<IncomingDelivery>();

function refuse(guard: MessageSizeGuard, delivery: IncomingDelivery, receiver: Receiver): void {
  oversize.add(delivery);
  delivery.frames = [];
  guard.messageTooLarge(receiver);
}

function guardedTransfer(this: RheaIncoming, frame: TransferFrame, receiver: Receiver): void {
  const guard = this.outpostSizeGuard!;
  const maxMessageBytes = guard.maxMessageBytes;
  const link = receiver as unknown as ReceiverInternals;
  const size = frame.payload?.length ?? 0;
  const current = link._incomplete;
  if (current === undefined) {
    this.outpostGuardedTransfer!.call(this, frame, receiver);
    const started = link._incomplete;
    if (started === undefined) return;
    deliveryBytes.set(started, size);
    if (size > maxMessageBytes) refuse(guard, started, receiver);
    return;
  }
  const total = (deliveryBytes.get(current) ?? 0) + size;
  if (!oversize.has(current) && total <= maxMessageBytes) {
    deliveryBytes.set(current, total);
    this.outpostGuardedTransfer!.call(this, frame, receiver);
    return;
  }
  if (!oversize.has(current)) refuse(guard, current, receiver);
  // Frames of a delivery already refused are counted (session window) but not kept.
  this.next_transfer_id++;
  if (frame.performative.more === true) return;
  // Its last frame: what rhea does on completion, minus decoding, and the delivery rejected.
  link._incomplete = undefined;
  if (link.credit > 0) link.credit--;
  link.delivery_count++;
  current.update(true, (rhea.message as unknown as { rejected(fields: unknown): { described(): unknown } }).rejected({ error: { condition: AmqpCondition.MessageSizeExceeded, description: `the message is larger than ${maxMessageBytes} bytes` } }).described());
}

/**
 * Wraps a session's incoming transfers so no delivery on it buffers more than
 * `guard.maxMessageBytes`; `guard.messageTooLarge` is called once per oversize delivery, with its
 * receiver (to detach it).
 */
export function guardMessageSize(session: Session, guard: MessageSizeGuard): void {
  const incoming = (session as unknown as { incoming: RheaIncoming }).incoming;
  incoming.outpostGuardedTransfer = incoming.on_transfer;
  incoming.outpostSizeGuard = guard;
  incoming.on_transfer = guardedTransfer;
}
