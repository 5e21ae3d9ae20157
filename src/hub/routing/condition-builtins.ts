import type { ConditionNode } from './condition-ast.js';
import { parseTwinPath } from './json-path.js';
import { fail } from './route-problem.js';

/**
 * The built-in functions (section 4.9 of the notes; Azure's `query/builtins/*`). Each has an
 * ordered list of overloads; the first whose parameters match the argument types is used, and
 * none matching is a compile error — the same resolution as Azure's `Args.Match`: a parameter
 * accepts its own type, and an overload marked `qv` also accepts a `$body` value (QueryValue),
 * which is used when it holds the expected type and is Undefined otherwise.
 */

export type StaticType = 'string' | 'double' | 'bool' | 'null' | 'undefined' | 'qv';

export interface Emitted {
  readonly type: StaticType;
  /** A JavaScript expression built only from runtime helper names and `k<n>` constants. */
  readonly code: string;
}

export interface CallContext {
  visit(node: ConditionNode): Emitted;
  constant(value: unknown): string;
  readonly twinSource: boolean;
  markBody(): void;
}

export function typeName(type: StaticType): string {
  return type === 'double' ? 'number' : type === 'qv' ? '$body value' : type;
}

interface Overload {
  /** Parameter types; `any` accepts one argument of any type. With `variadic`, the last repeats. */
  readonly params: readonly StaticType[] | 'any';
  readonly variadic?: boolean;
  readonly qv?: boolean;
  readonly emit: (args: readonly Emitted[]) => Emitted;
}

const d = (code: string): Emitted => ({ type: 'double', code });
const b = (code: string): Emitted => ({ type: 'bool', code });
const s = (code: string): Emitted => ({ type: 'string', code });

// A QueryValue argument narrowed to the parameter's type (Undefined when it holds another type).
const asString = (e: Emitted) => (e.type === 'qv' ? `sQ(${e.code})` : e.code);
const asDouble = (e: Emitted) => (e.type === 'qv' ? `dQ(${e.code})` : e.code);
const asBool = (e: Emitted) => (e.type === 'qv' ? `bQ(${e.code})` : e.code);

const math = (helper: string): readonly Overload[] => [{ params: ['double'], qv: true, emit: ([x]) => d(`${helper}(${asDouble(x!)})`) }];
const stringTest = (helper: string): readonly Overload[] => [
  { params: ['string', 'string'], qv: true, emit: ([x, y]) => b(`${helper}(${asString(x!)}, ${asString(y!)})`) },
];
const FALSE: Overload = { params: 'any', emit: () => b('-1') };

const BUILTINS: ReadonlyMap<string, readonly Overload[]> = new Map<string, readonly Overload[]>([
  ['abs', math('abs')],
  ['exp', math('exp')],
  ['square', math('square')],
  ['ceiling', math('ceiling')],
  ['floor', math('floor')],
  ['sign', math('sign')],
  ['sqrt', math('sqrt')],
  ['power', [{ params: ['double', 'double'], qv: true, emit: ([x, y]) => d(`pow(${asDouble(x!)}, ${asDouble(y!)})`) }]],
  ['as_number', [
    { params: ['string'], qv: true, emit: ([x]) => d(x!.type === 'qv' ? `asNumQ(${x!.code})` : `asNumS(${x!.code})`) },
    { params: ['double'], emit: ([x]) => x! },
  ]],
  ['is_bool', [{ params: ['bool'], qv: true, emit: ([x]) => b(x!.type === 'qv' ? `isBoolQ(${x!.code})` : `isBoolB(${x!.code})`) }, FALSE]],
  ['is_defined', [
    { params: ['string'], emit: ([x]) => b(`isDefS(${x!.code})`) },
    { params: ['double'], emit: ([x]) => b(`isDefD(${x!.code})`) },
    { params: ['bool'], emit: ([x]) => b(`isDefB(${x!.code})`) },
    { params: ['undefined'], emit: () => b('-1') },
    { params: ['null'], emit: () => b('1') },
    { params: ['qv'], emit: ([x]) => b(`isDefQ(${x!.code})`) },
  ]],
  ['is_null', [
    { params: ['string'], emit: ([x]) => b(`isNullS(${x!.code})`) },
    { params: ['qv'], emit: ([x]) => b(`isNullQ(${x!.code})`) },
    { params: ['null'], emit: () => b('1') },
    FALSE,
  ]],
  ['is_number', [{ params: ['double'], qv: true, emit: ([x]) => b(x!.type === 'qv' ? `isNumQ(${x!.code})` : `isNumD(${x!.code})`) }, FALSE]],
  ['is_string', [{ params: ['string'], qv: true, emit: ([x]) => b(x!.type === 'qv' ? `isStrQ(${x!.code})` : `isStrS(${x!.code})`) }, FALSE]],
  ['concat', [{ params: ['string', 'string', 'string'], variadic: true, qv: true, emit: (args) => s(args.map(asString).reduce((acc, arg) => `cat(${acc}, ${arg})`)) }]],
  ['length', [{ params: ['string'], qv: true, emit: ([x]) => d(`len(${asString(x!)})`) }]],
  ['lower', [{ params: ['string'], qv: true, emit: ([x]) => s(`lower(${asString(x!)})`) }]],
  ['upper', [{ params: ['string'], qv: true, emit: ([x]) => s(`upper(${asString(x!)})`) }]],
  ['substring', [
    { params: ['string', 'double'], qv: true, emit: ([x, y]) => s(`sub2(${asString(x!)}, ${asDouble(y!)})`) },
    { params: ['string', 'double', 'double'], qv: true, emit: ([x, y, z]) => s(`sub3(${asString(x!)}, ${asDouble(y!)}, ${asDouble(z!)})`) },
  ]],
  ['index_of', [{ params: ['string', 'string'], qv: true, emit: ([x, y]) => d(`indexOf(${asString(x!)}, ${asString(y!)})`) }]],
  ['starts_with', stringTest('startsWith')],
  ['ends_with', stringTest('endsWith')],
  ['contains', stringTest('contains')],
]);

const SUPPORTED_BY_QV = new Set<StaticType>(['null', 'double', 'string', 'bool']);

function accepts(param: StaticType, given: StaticType, qv: boolean): boolean {
  return param === given || (qv && ((given === 'qv' && SUPPORTED_BY_QV.has(param)) || (param === 'qv' && SUPPORTED_BY_QV.has(given))));
}

function matches(overload: Overload, given: readonly StaticType[]): boolean {
  const { params } = overload;
  if (params === 'any') return given.length === 1;
  const qv = overload.qv === true;
  if (overload.variadic === true) {
    const fixed = params.length - 1;
    return given.length >= fixed && given.every((g, i) => accepts(params[Math.min(i, fixed)]!, g, qv));
  }
  return given.length === params.length && given.every((g, i) => accepts(params[i]!, g, qv));
}

function signature(name: string, overload: Overload): string {
  if (overload.params === 'any') return `${name}(any)`;
  const names = overload.params.map(typeName);
  return `${name}(${overload.variadic === true ? `${names.slice(0, -1).join(', ')}, …` : names.join(', ')})`;
}

export function compileCall(node: Extract<ConditionNode, { kind: 'call' }>, text: string, context: CallContext): Emitted {
  const name = node.name.toLowerCase();
  if (name === 'twin_change_includes') return twinChangeIncludes(node, text, context);
  const overloads = BUILTINS.get(name);
  if (overloads === undefined) {
    fail('OUTPOST_ROUTE_TYPE', `unknown built-in function '${node.name}'`, text, node.nameStart, node.name.length);
  }
  const args = node.args.map((arg) => context.visit(arg));
  const given = args.map((arg) => arg.type);
  const overload = overloads.find((candidate) => matches(candidate, given));
  if (overload === undefined) {
    const expected = overloads.filter((o) => o.params !== 'any').map((o) => signature(node.name, o)).join(' or ');
    fail('OUTPOST_ROUTE_TYPE', `invalid arguments to built-in function '${node.name}': ${node.name}(${given.map(typeName).join(', ')}), expected ${expected}`, text, node.nameStart, node.name.length);
  }
  return overload.emit(args);
}

/**
 * twin_change_includes(path): its argument is raw path text, not an expression (Azure passes the
 * argument tokens' text). Azure's EdgeHub rejects it in every route because it builds all routes
 * with a custom source; Outpost accepts it where it means something, in routes FROM
 * /twinChangeNotifications, and rejects it elsewhere.
 */
function twinChangeIncludes(node: Extract<ConditionNode, { kind: 'call' }>, text: string, context: CallContext): Emitted {
  if (!context.twinSource) {
    fail('OUTPOST_ROUTE_TYPE', `'${node.name}' is only valid in routes FROM /twinChangeNotifications`, text, node.nameStart, node.name.length);
  }
  const [arg] = node.args;
  if (arg === undefined) fail('OUTPOST_ROUTE_TYPE', `${node.name}() needs a path such as properties.reported.<name>`, text, node.nameStart, node.end - node.nameStart);
  if (node.args.length !== 1 || arg.kind !== 'property') {
    fail('OUTPOST_ROUTE_TYPE', `${node.name} takes one path such as properties.reported.<name>, not '${node.argsText}'`, text, arg.start, node.end - 1 - arg.start);
  }
  const parsed = parseTwinPath(arg.name);
  if (!parsed.ok) fail('OUTPOST_ROUTE_TYPE', `invalid path for ${node.name}: ${parsed.reason}`, text, arg.start + parsed.index, arg.end - arg.start - parsed.index);
  context.markBody();
  return b(`v.t(${context.constant(parsed.segments)})`);
}
