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

type Frames = { attach(fields: Record<string, unknown>): Composite; detach(fields: Record<string, unknown>): unknown };
type Composite = Record<string, unknown> & { value: unknown[]; described(): unknown; toJSON(): unknown };

/** What rhea's init copies from a link's options besides the attach's fields (its for-in over the attach also meets these). */
const COMPOSITE_KEYS = ['value', 'dispatch', 'toJSON', 'described'] as const;

/**
 * A link's own attach, as rhea's attach composite reads and writes it, holding each field as it
 * was set rather than as a typed value in a list: rhea builds the attach with every link, a typed
 * object per field (about 0.5 KB per link), and writes it once, at the link's open (or again if
 * the peer attaches it again). The composite is built from these fields each time it is written
 * (`described`), by rhea's own setters, so the bytes are rhea's. Every assignment goes through
 * rhea's setter first (the same errors, at the same time), and a field reads as rhea's getter
 * reads it: a primitive as rhea unwraps it, anything else through rhea's getter and setter.
 */
class LazyAttach {
  /** Per field (ATTACH_FIELDS' order): undefined until set; a primitive as rhea reads it back, or the object set. */
  readonly slots: unknown[];

  constructor(fieldCount: number) {
    this.slots = new Array<unknown>(fieldCount).fill(undefined);
  }

  described(): unknown {
    return this.composite().described();
  }

  toJSON(): unknown {
    return this.composite().toJSON();
  }

  composite(): Composite {
    const composite = lazy.frames!.attach({});
    const fields = lazy.fields;
    for (let i = 0; i < fields.length; i += 1) if (this.slots[i] !== undefined) composite[fields[i]!] = this.slots[i];
    return composite;
  }
}

/** rhea's frames module, the attach's field names in its order, and a composite whose setters and getters check and unwrap a value (filled in on install). */
const lazy: { frames: Frames | undefined; fields: string[]; scratch: Composite | undefined } = { frames: undefined, fields: [], scratch: undefined };

/** rhea's setter on `value` (its errors, if any), then what its getter reads back. */
function throughRhea(field: string, value: unknown): unknown {
  const scratch = lazy.scratch!;
  try {
    scratch[field] = value;
    return scratch[field];
  } finally {
    scratch.value = [];
  }
}

function defineLazyAttachFields(frames: Frames): void {
  lazy.frames = frames;
  lazy.scratch = frames.attach({});
  const prototype = Object.getPrototypeOf(lazy.scratch) as object;
  lazy.fields = Object.getOwnPropertyNames(prototype).filter((name) => typeof Object.getOwnPropertyDescriptor(prototype, name)?.get === 'function');
  lazy.fields.forEach((field, index) => {
    Object.defineProperty(LazyAttach.prototype, field, {
      get(this: LazyAttach) {
        const value = this.slots[index];
        return value === null || typeof value !== 'object' ? value : throughRhea(field, value);
      },
      set(this: LazyAttach, value: unknown) {
        const read = throughRhea(field, value);
        this.slots[index] = value === null || value === undefined ? null : typeof value === 'object' ? value : read;
      },
      enumerable: true,
      configurable: true,
    });
  });
}

/** The attach for a link named `name` on `handle`, with the fields of its options (as rhea's link init makes it). */
function localAttach(frames: Frames, name: string, handle: number, isReceiver: boolean, options: Record<string, unknown>): Record<string, unknown> {
  // rhea's init would copy these too (its for-in over the attach meets them): rhea's own attach then.
  if (COMPOSITE_KEYS.some((key) => options[key] !== undefined)) {
    const attach = frames.attach({ handle, name, role: isReceiver });
    for (const field in attach) {
      if (!INTERNAL_FIELDS.has(field) && options[field] !== undefined) attach[field] = options[field];
    }
    return attach;
  }
  const attach = new LazyAttach(lazy.fields.length) as unknown as Record<string, unknown>;
  attach['handle'] = handle;
  attach['name'] = name;
  attach['role'] = isReceiver;
  for (const field of lazy.fields) {
    if (!INTERNAL_FIELDS.has(field) && options[field] !== undefined) attach[field] = options[field];
  }
  return attach;
}

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
 * The link's detach frame is built when it is first read (LocalEnd), and its attach keeps its
 * fields rather than rhea's typed values (LazyAttach).
 * `test/amqp/amqp-shared-link-accessors.test.ts` compares what both make.
 */
export function installSharedLinkAccessors(): void {
  if (installed) return;
  installed = true;
  const { Sender } = rheaRequire('rhea/lib/link.js') as { Sender: { prototype: object } };
  const link = Object.getPrototypeOf(Sender.prototype) as { init: LinkInit } & Record<string, unknown>;
  const frames = rheaRequire('rhea/lib/frames.js') as Frames;
  const EndpointState = rheaRequire('rhea/lib/endpoint.js') as new () => unknown;
  defineLazyAttachFields(frames);
  link.init = function init(this: LinkUnderConstruction, session, name, localHandle, opts, isReceiver) {
    this.session = session;
    this.connection = session.connection;
    this.name = name;
    this.options = opts === undefined ? {} : opts;
    this.state = new EndpointState();
    this.issue_flow = false;
    this.local = new LocalEnd(localHandle, localAttach(frames, name, localHandle, isReceiver, this.options), frames);
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
