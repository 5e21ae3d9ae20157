import type { HubMessage } from '../message/index.js';
import { upperInvariant } from './dotnet-compat.js';
import type { JsonPathSegments } from './json-path.js';
import { NULL_STRING, bodyValue, type QueryValue, type Tri } from './route-runtime.js';

/**
 * What a compiled condition sees of one message. One view is reused for every message of a batch
 * (reset per message) so evaluation allocates nothing per message, and the body is decoded and
 * parsed at most once per message, lazily, however many routes query it.
 *
 * Property lookups are case-insensitive (Azure's OrdinalIgnoreCase dictionaries): the exact name is
 * tried first, then the upper-cased name (simple case mapping). Keys are only ever read after
 * Object.hasOwn, into Maps, so "__proto__" or "constructor" is only a name.
 */

type PropertyMap = Readonly<Record<string, string | null>>;

const EMPTY: HubMessage = { source: '/', body: new Uint8Array(0), properties: {}, systemProperties: {}, enqueuedAtMs: 0 };
const BODY_UNREAD = 0;
const BODY_OK = 1;
const BODY_UNUSABLE = 2;

const utf8 = new TextDecoder('utf-8');
const utf16 = new TextDecoder('utf-16le');

/**
 * One property map of the current message, as two Maps built on first use: own keys as they are,
 * and upper-cased (first key wins, as a case-insensitive dictionary could hold only one). Map
 * lookups with the route's constant names are several times faster than Object.hasOwn with a
 * different key at every call, and never touch a prototype. The Maps are reused across messages.
 */
class PropertyIndex {
  private map: PropertyMap = {};
  private readonly exact = new Map<string, string | null>();
  private readonly folded = new Map<string, string | null>();
  private exactBuilt = false;
  private foldedBuilt = false;
  private dollar = false;

  reset(map: PropertyMap): void {
    this.map = map;
    if (this.exactBuilt) {
      this.exact.clear();
      this.exactBuilt = false;
    }
    if (this.foldedBuilt) {
      this.folded.clear();
      this.foldedBuilt = false;
    }
  }

  /**
   * Whether any key starts with '$'. Nearly always false, and then the shadowing checks of `$name`
   * and `$body.x` (is there an application property of that name?) cost nothing.
   */
  hasDollarKey(): boolean {
    if (!this.exactBuilt) this.build();
    return this.dollar;
  }

  get(name: string, upper: string): string | null | undefined {
    if (!this.exactBuilt) this.build();
    const value = this.exact.get(name);
    if (value !== undefined) return value;
    if (!this.foldedBuilt) {
      for (const [key, entry] of this.exact) {
        const folded = upperInvariant(key);
        if (!this.folded.has(folded)) this.folded.set(folded, entry);
      }
      this.foldedBuilt = true;
    }
    return this.folded.get(upper);
  }

  private build(): void {
    let dollar = false;
    for (const key in this.map) {
      if (!Object.hasOwn(this.map, key)) continue;
      this.exact.set(key, this.map[key]!);
      if (key.charCodeAt(0) === 36) dollar = true;
    }
    this.dollar = dollar;
    this.exactBuilt = true;
  }
}

export class MessageView {
  private message: HubMessage = EMPTY;
  private readonly app = new PropertyIndex();
  private readonly sys = new PropertyIndex();
  private bodyState = BODY_UNREAD;
  private root: unknown = undefined;
  /** How many bodies this view has parsed; lets tests prove "at most once per message". */
  bodyParses = 0;

  reset(message: HubMessage): this {
    this.message = message;
    this.app.reset(message.properties);
    this.sys.reset(message.systemProperties);
    this.bodyState = BODY_UNREAD;
    this.root = undefined;
    return this;
  }

  /** Drops the last message (and its parsed body) so a table does not keep it alive between batches. */
  clear(): void {
    this.reset(EMPTY);
  }

  /** `name`: an application property. */
  p(name: string, upper: string): string | null | undefined {
    return this.app.get(name, upper);
  }

  /** `{$name}`: a system property (name without the '$'). */
  s(name: string, upper: string): string | null | undefined {
    return this.sys.get(name, upper);
  }

  /** `$name`: the application property literally named `$name` wins, else the system property. */
  d(appName: string, appUpper: string, sysName: string, sysUpper: string): string | null | undefined {
    const app = this.app.hasDollarKey() ? this.app.get(appName, appUpper) : undefined;
    return app !== undefined ? app : this.sys.get(sysName, sysUpper);
  }

  /** `$body.x.y`: an application property named exactly that wins over the body query. */
  pb(appName: string, appUpper: string, path: JsonPathSegments): QueryValue {
    const app = this.app.hasDollarKey() ? this.app.get(appName, appUpper) : undefined;
    if (app !== undefined) return app === null ? NULL_STRING : app;
    return this.b(path);
  }

  /** A body query: Undefined when the body cannot be read, Null for a missing path. */
  b(path: JsonPathSegments): QueryValue {
    const node = this.walk(path);
    return node === NOT_READABLE ? undefined : node === MISSING ? null : bodyValue(node);
  }

  /** twin_change_includes: True when the path is present (even as null), False when missing. */
  t(path: JsonPathSegments): Tri {
    const node = this.walk(path);
    return node === NOT_READABLE ? 0 : node === MISSING ? -1 : 1;
  }

  private walk(path: JsonPathSegments): unknown {
    if (this.bodyState === BODY_UNREAD) this.readBody();
    if (this.bodyState !== BODY_OK) return NOT_READABLE;
    let node: unknown = this.root;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i]!;
      if (typeof segment === 'number') {
        if (!Array.isArray(node) || segment >= node.length) return MISSING;
        node = node[segment];
      } else {
        if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, segment)) return MISSING;
        node = (node as Record<string, unknown>)[segment];
      }
    }
    return node;
  }

  /**
   * Body queries need contentType application/json (exactly, any case: a charset parameter does
   * not match, as in Azure) and contentEncoding utf-8, utf-16 or utf-32; the body must be a JSON
   * object. Anything else makes every body query of this message Undefined.
   */
  private readBody(): void {
    this.bodyState = BODY_UNUSABLE;
    const contentType = this.s('contentType', 'CONTENTTYPE');
    if (typeof contentType !== 'string' || contentType.length !== 16 || contentType.toLowerCase() !== 'application/json') return;
    const text = decode(this.message.body, this.s('contentEncoding', 'CONTENTENCODING'));
    if (text === undefined) return;
    this.bodyParses++;
    let root: unknown;
    try {
      root = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof root !== 'object' || root === null || Array.isArray(root)) return;
    this.root = root;
    this.bodyState = BODY_OK;
  }
}

const NOT_READABLE = Symbol('not readable');
const MISSING = Symbol('missing');

function decode(body: Uint8Array, encoding: string | null | undefined): string | undefined {
  switch (typeof encoding === 'string' ? encoding.toLowerCase() : '') {
    case 'utf-8':
      return utf8.decode(body);
    case 'utf-16':
      // .NET's Encoding.Unicode: little-endian.
      return utf16.decode(body);
    case 'utf-32':
      return decodeUtf32le(body);
    default:
      return undefined;
  }
}

function decodeUtf32le(body: Uint8Array): string {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let out = '';
  for (let i = 0; i + 4 <= body.byteLength; i += 4) {
    const cp = view.getUint32(i, true);
    out += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
  }
  return out;
}
