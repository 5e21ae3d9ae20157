import rhea from 'rhea';

/** rhea's typed value: its type (and a descriptor or an array constructor, for some). */
interface Typed {
  readonly type: { readonly width: number; readonly typecode: number; create(): Typed };
  readonly value: unknown;
  readonly descriptor?: unknown;
  readonly array_constructor?: unknown;
}

interface RheaTypes {
  Null(): Typed;
  True(): Typed;
  False(): Typed;
  Uint0(): Typed;
  Ulong0(): Typed;
  List0(): Typed;
}

const types = (rhea as unknown as { types: RheaTypes }).types;
const TypedClass = (types.Null() as object).constructor as new (...args: never[]) => Typed;

/**
 * One frozen instance of each of rhea's types that carry no value (null, true, false, uint 0,
 * ulong 0, the empty list), by type code. rhea makes a new typed object for each field it decodes
 * or wraps, about 48 B each, and keeps them as long as the performatives that hold them: the
 * peer's open, begin and attaches and the hub's own, with their sources and targets, for as long as
 * the connection lives (about 40 per idle device connection, most of them nulls). Frozen: rhea
 * writes typed values (their bytes depend on their type alone) and reads them, never changes one it
 * did not just make, and a change would throw (rhea is strict code) rather than pass silently.
 */
const SHARED = new Map<number, Typed>();
for (const make of [types.Null, types.True, types.False, types.Uint0, types.Ulong0, types.List0]) {
  const value = make();
  SHARED.set(value.type.typecode, Object.freeze(value));
}

function sharedFor(value: unknown): Typed | undefined {
  if (!(value instanceof TypedClass)) return undefined;
  const typed = value as Typed;
  if (typed.type.width !== 0 || typed.descriptor !== undefined || typed.array_constructor !== undefined) return undefined;
  const shared = SHARED.get(typed.type.typecode);
  return shared !== undefined && shared.value === typed.value && Object.keys(typed).length === Object.keys(shared).length ? shared : undefined;
}

/** How deep the lists and maps inside a performative are followed (a source's filter map, say). */
const MAX_DEPTH = 4;

function shareIn(values: unknown[], depth: number): void {
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    const shared = sharedFor(value);
    if (shared !== undefined) {
      if (shared !== value) values[i] = shared;
      continue;
    }
    if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') continue;
    // A described list (a source or target as rhea writes it), a list or a map, or a source or
    // target as rhea keeps the peer's (a composite holding its list of typed values).
    const inner = (value as { value?: unknown }).value;
    if (Array.isArray(inner)) shareIn(inner, depth + 1);
  }
}

/**
 * Replaces, in a performative rhea keeps (an open, begin or attach, the peer's or its own, as
 * rhea's composite with its list of typed values), each typed null, true, false, zero and empty
 * list by the one shared instance of it. What rhea reads and writes from the performative is
 * the same: the same values read, the same bytes written.
 * test/amqp/amqp-shared-empty-values.test.ts.
 */
export function shareEmptyValues(performative: unknown): void {
  const values = (performative as { value?: unknown } | null | undefined)?.value;
  if (Array.isArray(values)) shareIn(values, 0);
}

/** The same for typed values held elsewhere (a link's own source and target). */
export function shareEmptyValuesIn(values: unknown[]): void {
  shareIn(values, 0);
}
