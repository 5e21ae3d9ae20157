import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

const rheaRequire = createRequire(import.meta.url);

/** rhea's default session buffer (deliveries each way), `DEFAULT_BUFFER_SIZE` in its session.js. */
const DEFAULT_BUFFER_SIZE = 2048;

type Ctor = new (...args: never[]) => object;
type SessionBufferSize = number | { incoming?: unknown; outgoing?: unknown } | undefined;

interface RheaConnection {
  local_channel_map: Record<number, object | undefined>;
  create_session(size?: SessionBufferSize): object;
}

interface SessionUnderConstruction {
  connection: RheaConnection;
  session_buffer_size: SessionBufferSize;
  outgoing: { next_transfer_id: number; window: number };
  incoming: IncomingUnderConstruction;
  state: unknown;
  local: { channel: number; handles: Record<number, unknown>; begin?: unknown; end?: unknown };
  remote: { handles: Record<number, unknown>; end?: { error?: unknown } };
  links: Record<string, unknown>;
  options: Record<string, unknown>;
  observers: EventEmitter;
}

interface IncomingUnderConstruction {
  deliveries: { available(): number };
  updated: unknown[];
  next_transfer_id: number;
  next_delivery_id: number | undefined;
  readonly window: number;
  remote_next_transfer_id: number | undefined;
  remote_window: number | undefined;
  max_transfer_id: number;
}

type Frames = { begin(fields: Record<string, unknown>): unknown; end(): unknown };

/** rhea's `get_buffer_size` (session.js): a number for both ways, or one per way, else the default. */
function bufferSize(size: SessionBufferSize, way: 'incoming' | 'outgoing'): number {
  if (!size) return DEFAULT_BUFFER_SIZE;
  const given = typeof size === 'number' ? size : size[way];
  return given && Number.isInteger(Number(given)) ? Number(given) : DEFAULT_BUFFER_SIZE;
}

let installed = false;
let rheaCreateSession: RheaConnection['create_session'] | undefined;

/**
 * rhea's Session constructor gives every session a getter of its own (`error`, read through the
 * peer's end), and its Incoming (the session's incoming deliveries) one too (`window`), both with
 * `Object.defineProperty` on the instance: each a new closure, and an object V8 then keeps as a
 * dictionary (measured on `outpost hub` with 500 idle AMQP devices: 0.9 KB of property
 * dictionary per Session and 0.5 KB per Incoming; issue 20, memory per idle connection). Sessions
 * are made in one place, the connection's `create_session`; this one makes the same objects with
 * the same fields, and the two getters are defined once on their prototypes. Outgoing (no getter)
 * is rhea's own. test/amqp/amqp-shared-session-accessors.test.ts compares what both make.
 *
 * Installed before session-scheduling.ts wraps `create_session` (it calls this first).
 */
export function installSharedSessionAccessors(): void {
  if (installed) return;
  installed = true;
  const Session = rheaRequire('rhea/lib/session.js') as Ctor & { prototype: object };
  const Connection = rheaRequire('rhea/lib/connection.js') as { prototype: RheaConnection };
  const frames = rheaRequire('rhea/lib/frames.js') as Frames;
  const EndpointState = rheaRequire('rhea/lib/endpoint.js') as new () => unknown;
  // Outgoing, Incoming and their CircularBuffer are not exported: taken from a session rhea makes once.
  const probe = new (Session as unknown as new (connection: unknown, channel: number, size: unknown) => { outgoing: object; incoming: { deliveries: object } })({}, 0, undefined);
  const Outgoing = probe.outgoing.constructor as new (connection: unknown, size: SessionBufferSize) => SessionUnderConstruction['outgoing'];
  const Incoming = probe.incoming.constructor as { prototype: object };
  const CircularBuffer = probe.incoming.deliveries.constructor as new (capacity: number) => IncomingUnderConstruction['deliveries'];

  Object.defineProperty(Incoming.prototype, 'window', {
    get(this: IncomingUnderConstruction) {
      return this.deliveries.available();
    },
    configurable: true,
  });
  Object.defineProperty(Session.prototype, 'error', {
    get(this: SessionUnderConstruction) {
      return this.remote.end ? this.remote.end.error : undefined;
    },
    configurable: true,
  });

  const makeIncoming = (size: SessionBufferSize): IncomingUnderConstruction => {
    const incoming = Object.create(Incoming.prototype) as IncomingUnderConstruction;
    incoming.deliveries = new CircularBuffer(bufferSize(size, 'incoming'));
    incoming.updated = [];
    incoming.next_transfer_id = 0;
    incoming.next_delivery_id = undefined;
    incoming.remote_next_transfer_id = undefined;
    incoming.remote_window = undefined;
    incoming.max_transfer_id = incoming.next_transfer_id + incoming.window;
    return incoming;
  };

  rheaCreateSession = Connection.prototype.create_session;
  // rhea's `create_session`, with the session made here rather than by its constructor.
  Connection.prototype.create_session = function create_session(this: RheaConnection, size?: SessionBufferSize): object {
    let channel = 0;
    while (this.local_channel_map[channel]) channel++;
    const session = Object.create(Session.prototype) as SessionUnderConstruction;
    session.connection = this;
    session.session_buffer_size = size;
    session.outgoing = new Outgoing(this, size);
    session.incoming = makeIncoming(size);
    session.state = new EndpointState();
    session.local = { channel, handles: {} };
    session.local.begin = frames.begin({ next_outgoing_id: session.outgoing.next_transfer_id, incoming_window: session.incoming.window, outgoing_window: session.outgoing.window });
    session.local.end = frames.end();
    session.remote = { handles: {} };
    session.links = {};
    session.options = {};
    session.observers = new EventEmitter();
    this.local_channel_map[channel] = session;
    return session;
  };
}

/** rhea's own `create_session` (the test compares it with this file's), once installed. */
export function rheaSessionFactory(): RheaConnection['create_session'] | undefined {
  return rheaCreateSession;
}
