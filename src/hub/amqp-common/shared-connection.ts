import net from 'node:net';
import tls from 'node:tls';
import type { Connection, Container } from 'rhea';

/** The open fields rhea reads through the peer's open (`connection.js`, its `aliases`), and `error` through its close. */
export const CONNECTION_ALIASES = ['container_id', 'hostname', 'max_frame_size', 'channel_max', 'idle_time_out', 'outgoing_locales', 'incoming_locales', 'offered_capabilities', 'desired_capabilities', 'properties'] as const;
/** The protocol id of AMQP itself in the protocol header (rhea's `AMQP_PROTOCOL_ID`). */
const AMQP_PROTOCOL_ID = 0x00;

type Options = Record<string, unknown>;
type FrameClass = { create(fields: Options): unknown };

/** What a connection is made of, from the rhea its container belongs to (see rheaOf). */
interface RheaParts {
  readonly prototype: object;
  readonly EndpointState: new () => unknown;
  readonly Transport: new (identifier: unknown, protocolId: number, frameType: number, handler: unknown) => unknown;
  readonly Open: FrameClass;
  readonly Close: FrameClass;
  readonly frameType: number;
}

interface ConnectionUnderConstruction {
  options: Options;
  session_buffer_size: unknown;
  container: Container;
  registered: boolean;
  state: unknown;
  local_channel_map: Record<number, unknown>;
  remote_channel_map: Record<number, unknown>;
  local: { open?: unknown; close?: unknown };
  remote: { open?: Options; close?: { error?: unknown } };
  session_policy: SessionPerConnection;
  amqp_transport: unknown;
  sasl_transport: unknown;
  transport: unknown;
  conn_established_counter: number;
  heartbeat_out: unknown;
  heartbeat_in: unknown;
  abort_idle: unknown;
  socket_ready: boolean;
  scheduled_reconnect: unknown;
  default_sender: unknown;
  closed_with_non_fatal_error: boolean;
  get_option(name: string, defaultValue?: unknown): unknown;
  create_session(size?: unknown): RheaSession;
}

interface RheaSession {
  observers: { on(event: string, listener: () => void): unknown };
  begin(): void;
}

/**
 * rhea's `session_per_connection` (the session `attach_sender` and `attach_receiver` on the
 * connection use): made on first use and forgotten when it closes. A class, where rhea's is a
 * closure per connection.
 */
class SessionPerConnection {
  private session: RheaSession | null = null;

  constructor(
    private readonly connection: ConnectionUnderConstruction,
    private readonly bufferSize: unknown,
  ) {}

  get_session(): RheaSession {
    if (!this.session) {
      const session = this.connection.create_session(this.bufferSize);
      this.session = session;
      // rhea forgets whichever session it holds then.
      session.observers.on('session_close', () => {
        this.session = null;
      });
      session.begin();
    }
    return this.session;
  }
}

/**
 * rhea's `connection_details` (how a connection that connects finds its peer), called as
 * `options.connection_details(…)`: one function for every connection, where rhea gives each a
 * closure. An accepted connection never calls it.
 */
function connectionDetails(this: Options): { connect: unknown; host: unknown; port: unknown; options: Options } {
  const transport = this['transport'];
  let connect = this['connect'];
  if (!connect) {
    if (transport === undefined || transport === 'tcp') connect = net.connect;
    else if (transport === 'tls' || transport === 'ssl') connect = tls.connect;
    else throw Error(`Unrecognised transport: ${String(transport)}`);
  }
  return { connect, host: this['host'] ? this['host'] : 'localhost', port: this['port'] ? this['port'] : 5672, options: this };
}

let counter = 1;
const partsByContainer = new WeakMap<object, RheaParts>();

/**
 * The Connection class and the pieces its constructor uses, taken from a connection the container
 * itself makes once: the connection then belongs to the same rhea as its container, its sessions
 * and links, as one made by `container.create_connection` does (a process can hold two copies of
 * rhea: one loaded through a symbolic link, one through its real path; their typed values are not
 * each other's). The getters are defined on that Connection class's prototype.
 */
function rheaOf(container: Container): RheaParts {
  // The container's class: a connection's own container inherits from the hub's (amqp-connection.ts).
  let owner = container as object;
  while (!Object.hasOwn(owner, 'create_connection')) owner = Object.getPrototypeOf(owner) as object;
  let parts = partsByContainer.get(owner);
  if (parts !== undefined) return parts;
  const probe = (owner as Container).create_connection.call(container, { reconnect: false } as never) as unknown as ConnectionUnderConstruction & { amqp_transport: { frame_type: number } };
  parts = {
    prototype: Object.getPrototypeOf(probe) as object,
    EndpointState: (probe.state as object).constructor as RheaParts['EndpointState'],
    Transport: (probe.amqp_transport as object).constructor as RheaParts['Transport'],
    Open: (probe.local.open as object).constructor as unknown as FrameClass,
    Close: (probe.local.close as object).constructor as unknown as FrameClass,
    frameType: probe.amqp_transport.frame_type,
  };
  defineGetters(parts.prototype);
  partsByContainer.set(owner, parts);
  return parts;
}

function defineGetters(prototype: object): void {
  if (Object.getOwnPropertyDescriptor(prototype, 'error')?.get !== undefined) return;
  for (const alias of CONNECTION_ALIASES) {
    Object.defineProperty(prototype, alias, {
      get(this: ConnectionUnderConstruction) {
        return this.remote.open ? this.remote.open[alias] : undefined;
      },
      configurable: true,
    });
  }
  Object.defineProperty(prototype, 'error', {
    get(this: ConnectionUnderConstruction) {
      return this.remote.close ? this.remote.close.error : undefined;
    },
    configurable: true,
  });
}

/**
 * `container.create_connection(options)` for a connection the hub accepts (never reconnects).
 *
 * rhea's Connection constructor gives every connection eleven getters of its own (`container_id`,
 * `hostname`, … and `error`, each a new closure read through the peer's open or close) with
 * `Object.defineProperty` on the instance, which V8 then keeps as a dictionary, plus closures for
 * its session policy and connection details: measured on `outpost hub` with 500 idle AMQP
 * devices, a 1.6 KB property dictionary and thirteen closures per connection (issue 20, memory per
 * idle connection). This makes the same object with the same fields; the getters are defined once
 * on the prototype, the session policy is a class and the connection details one function.
 * Connection ids are this file's own count (`connection-<n>`), as rhea's is its own. The peer's
 * open is read the same way; test/amqp/amqp-shared-connection.test.ts compares what both make.
 */
export function createConnection(container: Container, given: Options): Connection {
  const rhea = rheaOf(container);
  if (given['reconnect'] !== false) throw new TypeError('createConnection makes connections that do not reconnect (reconnect: false)');
  const connection = Object.create(rhea.prototype) as ConnectionUnderConstruction;
  const options: Options = {};
  for (const key in given) options[key] = given[key];
  if ((given['transport'] === 'tls' || given['transport'] === 'ssl') && given['servername'] === undefined && given['host'] !== undefined) options['servername'] = given['host'];
  connection.options = options;
  connection.session_buffer_size = given['session_buffer_size'];
  connection.container = container;
  if (!options['id']) options['id'] = `connection-${counter++}`;
  if (!options['container_id']) options['container_id'] = container.id;
  if (!options['connection_details']) options['connection_details'] = connectionDetails;
  // rhea's set_reconnect for `false`.
  options['reconnect'] = false;
  connection.registered = false;
  connection.state = new rhea.EndpointState();
  connection.local_channel_map = {};
  connection.remote_channel_map = {};
  connection.local = {};
  connection.remote = {};
  const openFields: Options = {};
  for (const alias of CONNECTION_ALIASES) if (options[alias] !== undefined) openFields[alias] = options[alias];
  connection.local.open = rhea.Open.create(openFields);
  connection.local.close = rhea.Close.create({});
  connection.session_policy = new SessionPerConnection(connection, connection.session_buffer_size);
  connection.amqp_transport = new rhea.Transport(options['id'], AMQP_PROTOCOL_ID, rhea.frameType, connection);
  connection.sasl_transport = undefined;
  connection.transport = connection.amqp_transport;
  connection.conn_established_counter = 0;
  connection.heartbeat_out = undefined;
  connection.heartbeat_in = undefined;
  connection.abort_idle = undefined;
  connection.socket_ready = false;
  connection.scheduled_reconnect = undefined;
  connection.default_sender = undefined;
  connection.closed_with_non_fatal_error = false;
  return connection as unknown as Connection;
}
