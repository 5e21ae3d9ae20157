import { Kind, Type, type TLiteral, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';
import type { ErrorCode } from '../errors/index.js';
import { BYTES_PATTERN, DURATION_PATTERN, formatBytes, formatDuration, parseBytes, parseDurationMs } from './units.js';

/**
 * Leaf builders for the configuration schema. Each leaf carries, beside its JSON-schema type, the
 * metadata the loader and the generated docs need: how a text value (environment, flag) is read,
 * the Azure IoT Edge variable names accepted as aliases, and the command-line flag, if any.
 */

export type LeafKind = 'int' | 'bool' | 'string' | 'enum' | 'list' | 'duration' | 'bytes' | 'path' | 'json';

/** A problem a leaf's own check found inside its value; `path` continues the leaf's path. */
export interface LeafCheckProblem {
  /** `.name`, `[2].allow[0]`: appended to the leaf's path. */
  readonly path: string;
  readonly message: string;
  /** A more precise code than OUTPOST_CONFIG_INVALID (a route's syntax error, say). */
  readonly code?: ErrorCode;
}

export interface AliasSpec {
  /** The variable name as Azure's edge hub documents it; matched case-insensitively like .NET. */
  readonly name: string;
  /** Rewrites the alias's value text into our format (for example seconds → "1800s"). */
  readonly toValue?: (text: string) => string;
  readonly note?: string;
}

export interface LeafMeta {
  readonly description: string;
  readonly aliases?: readonly AliasSpec[];
  /** Long flag name including the dashes, e.g. "--mqtt-port". */
  readonly flag?: string;
  /** When this leaf is set by any source, these other leaves default to these values. */
  readonly implies?: Readonly<Record<string, unknown>>;
  /** Documentation for a default that is computed at load time (null in the schema). */
  readonly defaultNote?: string;
}

export interface LeafOptions extends LeafMeta {
  readonly kind: LeafKind;
  readonly nullable: boolean;
  readonly values?: readonly string[];
  /** `json` leaves: what the value must be, for messages and docs. */
  readonly expects?: string;
  /** `json` leaves: checks beyond the shape, each problem with its path inside the value. */
  readonly check?: (value: unknown) => readonly LeafCheckProblem[];
}

const LEAF = 'outpostLeaf';

function leaf<T extends TSchema>(schema: T, options: LeafOptions, defaultValue: unknown): T {
  return Object.assign(schema, { [LEAF]: options, default: defaultValue, description: options.description });
}

export function leafOptions(schema: TSchema): LeafOptions | undefined {
  return (schema as Record<string, unknown>)[LEAF] as LeafOptions | undefined;
}

export function Int(defaultValue: number, range: { min: number; max: number }, meta: LeafMeta) {
  return leaf(Type.Integer({ minimum: range.min, maximum: range.max }), { ...meta, kind: 'int', nullable: false }, defaultValue);
}

export function Port(defaultValue: number, meta: LeafMeta) {
  return Int(defaultValue, { min: 0, max: 65_535 }, meta);
}

export function Bool(defaultValue: boolean, meta: LeafMeta) {
  return leaf(Type.Boolean(), { ...meta, kind: 'bool', nullable: false }, defaultValue);
}

export function Str(defaultValue: string, meta: LeafMeta) {
  return leaf(Type.String({ minLength: 1 }), { ...meta, kind: 'string', nullable: false }, defaultValue);
}

export function OptionalStr(meta: LeafMeta & { defaultNote: string }) {
  return leaf(Type.Union([Type.String({ minLength: 1 }), Type.Null()]), { ...meta, kind: 'string', nullable: true }, null);
}

export function Path(defaultValue: string, meta: LeafMeta) {
  return leaf(Type.String({ minLength: 1 }), { ...meta, kind: 'path', nullable: false }, defaultValue);
}

export function OptionalPath(meta: LeafMeta & { defaultNote: string }) {
  return leaf(Type.Union([Type.String({ minLength: 1 }), Type.Null()]), { ...meta, kind: 'path', nullable: true }, null);
}

export function Enum<const V extends readonly [string, ...string[]]>(values: V, defaultValue: V[number], meta: LeafMeta) {
  const schema = Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<TLiteral<V[number]>[]>;
  return leaf(schema, { ...meta, kind: 'enum', nullable: false, values }, defaultValue);
}

export function EnumList<const V extends readonly [string, ...string[]]>(values: V, defaultValue: readonly V[number][], meta: LeafMeta) {
  const item = Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<TLiteral<V[number]>[]>;
  return leaf(Type.Array(item, { minItems: 1, uniqueItems: true }), { ...meta, kind: 'list', nullable: false, values }, defaultValue);
}

/** A duration written with a unit ("30s"); decodes to milliseconds. */
export function Duration(defaultValue: string, meta: LeafMeta) {
  const schema = Type.Transform(Type.String({ pattern: DURATION_PATTERN }))
    .Decode((text) => parseDurationMs(text) ?? Number.NaN)
    .Encode((ms) => formatDuration(ms));
  return leaf(schema, { ...meta, kind: 'duration', nullable: false }, defaultValue);
}

/** A size in bytes, a number or text with a unit ("256KiB"); decodes to a number of bytes. */
export function Bytes(defaultValue: string, meta: LeafMeta) {
  const schema = Type.Transform(Type.Union([Type.String({ pattern: BYTES_PATTERN }), Type.Integer({ minimum: 0 })]))
    .Decode((value) => (typeof value === 'number' ? value : (parseBytes(value) ?? Number.NaN)))
    .Encode((bytes) => formatBytes(bytes));
  return leaf(schema, { ...meta, kind: 'bytes', nullable: false }, defaultValue);
}

/**
 * A structured value (a map of routes, a policy document): written as YAML or JSON in the file,
 * as JSON text in a variable or flag. `schema` checks its shape, `check` its content; null (the
 * default) means not set.
 */
export function Json<T extends TSchema>(schema: T, meta: LeafMeta & { defaultNote: string; expects: string; check: (value: unknown) => readonly LeafCheckProblem[] }) {
  const { expects, check, ...rest } = meta;
  return leaf(Type.Union([schema, Type.Null()]), { ...rest, kind: 'json', nullable: true, expects, check }, null);
}

export function Section<P extends TProperties>(description: string, properties: P): TObject<P> {
  return Type.Object(properties, { description, additionalProperties: false });
}

export interface LeafEntry {
  /** Dotted path, e.g. "mqtt.port". */
  readonly path: string;
  readonly segments: readonly string[];
  readonly schema: TSchema;
  readonly options: LeafOptions;
}

export function isSection(schema: TSchema): schema is TObject {
  return schema[Kind] === 'Object' && leafOptions(schema) === undefined;
}

/** Every leaf of the schema in declaration order. */
export function leaves(root: TObject, prefix: readonly string[] = []): LeafEntry[] {
  const out: LeafEntry[] = [];
  for (const [key, child] of Object.entries(root.properties)) {
    const segments = [...prefix, key];
    if (isSection(child)) out.push(...leaves(child, segments));
    else {
      const options = leafOptions(child);
      if (options === undefined) throw new Error(`config schema: ${segments.join('.')} is not built with a leaf helper`);
      out.push({ path: segments.join('.'), segments, schema: child, options });
    }
  }
  return out;
}

/** OUTPOST_ + path, camelCase to UPPER_SNAKE, sections joined by "__" (mqtt.maxPacketSize → OUTPOST_MQTT__MAX_PACKET_SIZE). */
export function envName(segments: readonly string[]): string {
  return 'OUTPOST_' + segments.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}
