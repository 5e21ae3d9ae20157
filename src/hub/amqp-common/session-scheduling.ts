/**
 * rhea writes a connection's pending frames on the tick after anything asks for it
 * (`Connection._register`), and then walks every session of the connection and every link of
 * each session (`Connection._process`), whether or not it has anything to write. On the upstream
 * link every identity is a session of one connection, so each tick costs O(identities): with
 * 1,000 identities the child spent 65 % of its main thread (1,040 ticks a second, a million
 * session walks) and the parent 38 % in that walk, and the drain ran at 6.5k msg/s
 * (docs/benchmarks.md, "Sessions walked on every tick").
 *
 * Here each connection keeps the sessions that may have something to write, and a tick walks
 * those only. A session is marked by everything that can give it something to write, which is
 * everything in rhea that asks for a tick on its behalf, and every frame it receives:
 *
 * - the application: a session begun or ended, a message sent, a delivery settled or updated
 *   (either direction), a link attached, detached or closed, credit given or drained;
 * - the peer: every session frame (begin, end, attach, detach, transfer, disposition, flow); a
 *   received transfer can use up the session's incoming window, which rhea renews from the walk.
 *
 * Anything that concerns the connection as a whole (open, close, connect, reconnect, a lost
 * socket, the peer's open or close, a new session) makes the next tick walk every session, as
 * rhea does. So does a connection that has never marked one. Installed process-wide with
 * installFastFrames (every rhea connection: the hub's AMQP listener, the upstream link, and any
 * rhea client in the same process); idempotent. test/amqp/amqp-session-scheduling.test.ts.
 */
import { createRequire } from 'node:module';
import { installSharedSessionAccessors } from './shared-session-accessors.js';

interface RheaSession {
  readonly connection: SchedulingConnection;
  /** In its connection's `outpostMarked` now. */
  outpostMarked?: boolean;
  readonly local: { readonly channel: number };
  readonly outgoing: object;
  readonly incoming: object;
  _process(): void;
}

interface RheaDelivery {
  readonly link: { readonly session: RheaSession };
}

interface EndpointState {
  need_open(): boolean;
  need_close(): boolean;
  has_settled(): boolean;
}

interface SchedulingConnection {
  registered: boolean;
  readonly state: EndpointState;
  readonly local_channel_map: Record<string, RheaSession>;
  _write_open(): void;
  _write_close(): void;
  /** Sessions marked since the last tick, each once (its flag); undefined until the first mark (every session is walked). */
  outpostMarked?: RheaSession[];
  /** The next tick walks every session. */
  outpostWalkAll?: boolean;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Prototype = Record<string, Method>;

const rheaRequire = createRequire(import.meta.url);

/** Session frames from the peer, and the application's session calls that ask for a tick. */
const SESSION_METHODS = ['begin', 'end', 'send', 'on_begin', 'on_end', 'on_attach', 'on_detach', 'on_transfer', 'on_disposition', 'on_flow', '_disconnect', '_reconnect'];
/** Link calls that ask for a tick (Sender and Receiver share them). */
const LINK_METHODS = ['attach', 'detach', 'close'];
const RECEIVER_METHODS = ['flow', 'drain_credit'];
/** Connection-wide changes: the next tick walks every session. */
const CONNECTION_METHODS = ['open', 'close', 'connect', 'reconnect', '_disconnected', 'connected', 'on_open', 'on_close', 'create_session'];

let installed = false;
let deliveriesInstalled = false;

// A flag and an array rather than a Set: this runs several times per message on the hub's AMQP path.
function mark(session: RheaSession | undefined): void {
  if (session === undefined || session.outpostMarked === true) return;
  session.outpostMarked = true;
  (session.connection.outpostMarked ??= []).push(session);
}

/** The marked sessions, unmarked and taken off the connection's list. */
function takeMarked(marked: RheaSession[]): RheaSession[] {
  const taken = marked.splice(0);
  for (const session of taken) session.outpostMarked = false;
  return taken;
}

/** rhea's own, checked: a missing one, or one taking more arguments than the wrappers pass on, is an rhea this was not written for. */
function originalOf(prototype: Prototype, name: string): Method {
  const original = prototype[name];
  if (typeof original !== 'function' || original.length > MAX_ARGUMENTS) throw new Error(`rhea's ${name} is not the one session scheduling was written for (rhea 3.0)`);
  return original;
}

/** The wrapped functions take at most this many arguments (Session.send: 4) and none reads `arguments`. */
const MAX_ARGUMENTS = 4;

// Fixed arity, not rest parameters: some of these run for every message (send, update, on_transfer),
// and a rest array is an allocation per call.
function markBefore(prototype: Prototype, name: string, sessionOf: (self: unknown, first: unknown) => RheaSession | undefined): void {
  const original = originalOf(prototype, name);
  prototype[name] = function markedCall(this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown): unknown {
    mark(sessionOf(this, a));
    return original.call(this, a, b, c, d);
  };
}

function walkAllBefore(prototype: Prototype, name: string): void {
  const original = originalOf(prototype, name);
  prototype[name] = function connectionWide(this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown): unknown {
    (this as SchedulingConnection).outpostWalkAll = true;
    return original.call(this, a, b, c, d);
  };
}

/** Outgoing and Incoming (a session's deliveries each way) are not exported: patched from the first session made. */
function installDeliveries(session: RheaSession): void {
  if (deliveriesInstalled) return;
  deliveriesInstalled = true;
  const sessionOfDelivery = (_self: unknown, delivery: unknown): RheaSession | undefined => (delivery as RheaDelivery | undefined)?.link.session;
  markBefore(Object.getPrototypeOf(session.outgoing) as Prototype, 'update', sessionOfDelivery);
  markBefore(Object.getPrototypeOf(session.incoming) as Prototype, 'update', sessionOfDelivery);
}

/** A tick: rhea's `Connection._process`, walking the marked sessions only when it can. */
function processMarked(this: SchedulingConnection): void {
  this.registered = false;
  do {
    if (this.state.need_open()) this._write_open();
    const sessions = this.local_channel_map;
    const marked = this.outpostMarked;
    if (this.outpostWalkAll === true || marked === undefined) {
      this.outpostWalkAll = false;
      if (marked !== undefined) takeMarked(marked);
      for (const channel in sessions) sessions[channel]!._process();
    } else if (marked.length > 0) {
      // Taken first: a session's walk can mark another (a `sendable` handler that sends), walked next tick.
      // An ended and removed session is no longer the connection's: rhea would not walk it either.
      for (const session of takeMarked(marked)) if (sessions[session.local.channel] === session) session._process();
    }
    if (this.state.need_close()) this._write_close();
  } while (!this.state.has_settled());
}

export function installSessionScheduling(): void {
  if (installed) return;
  installed = true;
  // Its `create_session` is the one wrapped below.
  installSharedSessionAccessors();
  const connection = (rheaRequire('rhea/lib/connection.js') as { prototype: Prototype }).prototype;
  const session = (rheaRequire('rhea/lib/session.js') as { prototype: Prototype }).prototype;
  const links = rheaRequire('rhea/lib/link.js') as { Sender: { prototype: Prototype }; Receiver: { prototype: Prototype } };
  const link = Object.getPrototypeOf(links.Sender.prototype) as Prototype;
  for (const name of SESSION_METHODS) markBefore(session, name, (self) => self as RheaSession);
  for (const name of LINK_METHODS) markBefore(link, name, (self) => (self as { session: RheaSession }).session);
  for (const name of RECEIVER_METHODS) markBefore(links.Receiver.prototype, name, (self) => (self as { session: RheaSession }).session);
  // rhea's aliases, taken when its files loaded: the marked functions instead.
  session.open = session.begin!;
  session.close = session.end!;
  link.open = link.attach!;
  links.Receiver.prototype.add_credit = links.Receiver.prototype.flow!;
  markBefore(links.Sender.prototype, 'set_drained', (self) => (self as { session: RheaSession }).session);
  for (const name of CONNECTION_METHODS) walkAllBefore(connection, name);
  const createSession = connection.create_session!;
  connection.create_session = function createScheduledSession(this: unknown, bufferSize?: unknown): unknown {
    const created = createSession.call(this, bufferSize) as RheaSession;
    installDeliveries(created);
    return created;
  };
  connection._process = processMarked as Method;
}
