import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

const rheaRequire = createRequire(import.meta.url);

/** The link fields rhea reads through the peer's attach (`link.js`, its `aliases`), and `error` through its detach. */
export const LINK_ALIASES = ['snd_settle_mode', 'rcv_settle_mode', 'source', 'target', 'max_message_size', 'offered_capabilities', 'desired_capabilities', 'properties'] as const;
/** Attach fields a link's options never set (rhea's `is_internal`). */
const INTERNAL_FIELDS: ReadonlySet<string> = new Set(['name', 'handle', 'role', 'initial_delivery_count']);

interface LinkUnderConstruction {
  session: { connection: unknown };
  connection: unknown;
  name: string;
  options: Record<string, unknown>;
  state: unknown;
  issue_flow: boolean;
  local: { handle: number; attach: Record<string, unknown>; detach: unknown };
  remote: { handle: number | undefined; attach?: Record<string, unknown>; detach?: { error?: unknown } };
  delivery_count: number;
  credit: number;
  observers: EventEmitter;
}

type Frames = { attach(fields: Record<string, unknown>): Record<string, unknown>; detach(fields: Record<string, unknown>): unknown };

/**
 * A link's own end: its handle, its attach, and its detach, which rhea builds with every link but
 * reads only when the link detaches or closes (about 300 B per link): built then, on first read.
 */
class LocalEnd {
  private detachFrame: unknown;

  constructor(
    readonly handle: number,
    public attach: Record<string, unknown>,
    private readonly frames: Frames,
  ) {}

  get detach(): unknown {
    this.detachFrame ??= this.frames.detach({ handle: this.handle, closed: true });
    return this.detachFrame;
  }

  set detach(frame: unknown) {
    this.detachFrame = frame;
  }
}

type LinkInit = (this: LinkUnderConstruction, session: LinkUnderConstruction['session'], name: string, localHandle: number, opts: Record<string, unknown> | undefined, isReceiver: boolean) => void;

let installed = false;

/**
 * rhea's link `init` gives every link nine getters of its own (`source`, `target`, … and `error`,
 * each a new closure read through `remote.attach` or `remote.detach`), with
 * `Object.defineProperty` on the instance. A getter per instance gives every link a map of its
 * own, so V8 stops after the first link and keeps every later one as a dictionary: measured on
 * `outpost hub` with 500 idle AMQP devices (CBS and an events link each), every Sender and
 * Receiver held a 1.6 KB property dictionary besides its nine closures (issue 20: memory per idle
 * connection). This `init` sets the same fields, and the same getters are defined once on the
 * links' shared prototype: reads and the failed writes of a getter without a setter are as before.
 * The link's detach frame is built when it is first read (LocalEnd).
 * `test/amqp/amqp-shared-link-accessors.test.ts` compares what both make.
 */
export function installSharedLinkAccessors(): void {
  if (installed) return;
  installed = true;
  const { Sender } = rheaRequire('rhea/lib/link.js') as { Sender: { prototype: object } };
  const link = Object.getPrototypeOf(Sender.prototype) as { init: LinkInit } & Record<string, unknown>;
  const frames = rheaRequire('rhea/lib/frames.js') as Frames;
  const EndpointState = rheaRequire('rhea/lib/endpoint.js') as new () => unknown;
  link.init = function init(this: LinkUnderConstruction, session, name, localHandle, opts, isReceiver) {
    this.session = session;
    this.connection = session.connection;
    this.name = name;
    this.options = opts === undefined ? {} : opts;
    this.state = new EndpointState();
    this.issue_flow = false;
    const attach = frames.attach({ handle: localHandle, name, role: isReceiver });
    for (const field in attach) {
      if (!INTERNAL_FIELDS.has(field) && this.options[field] !== undefined) attach[field] = this.options[field];
    }
    this.local = new LocalEnd(localHandle, attach, frames);
    this.remote = { handle: undefined };
    this.delivery_count = 0;
    this.credit = 0;
    this.observers = new EventEmitter();
  };
  for (const alias of LINK_ALIASES) {
    Object.defineProperty(link, alias, {
      get(this: LinkUnderConstruction) {
        const attach = this.remote.attach;
        return attach ? attach[alias] : undefined;
      },
      configurable: true,
    });
  }
  Object.defineProperty(link, 'error', {
    get(this: LinkUnderConstruction) {
      return this.remote.detach ? this.remote.detach.error : undefined;
    },
    configurable: true,
  });
}

/** The links' `init` now: rhea's own before installSharedLinkAccessors, this file's after (the test reads both to compare them). */
export function currentLinkInit(): LinkInit {
  const { Sender } = rheaRequire('rhea/lib/link.js') as { Sender: { prototype: object } };
  return (Object.getPrototypeOf(Sender.prototype) as { init: LinkInit }).init;
}
