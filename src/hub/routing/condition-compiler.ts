import type { ConditionNode } from './condition-ast.js';
import { TokenCursor, describeToken, parseExpression } from './condition-parser.js';
import { compileCall, typeName, type Emitted, type StaticType } from './condition-builtins.js';
import { parseJsonPath } from './json-path.js';
import { upperInvariant } from './dotnet-compat.js';
import { Tok, lexRoute } from './route-lexer.js';
import { RouteFailure, fail, type RouteProblem } from './route-problem.js';
import { normalizeSource } from './route-source.js';

/**
 * Type-checks a condition and generates the JavaScript that evaluates it, in one pass over the
 * tree (as Azure's ConditionVisitor builds its expression tree).
 *
 * Injection safety, the one rule: user text never becomes code. Every string literal, property
 * name, number and JSON path goes into `constants` and the code refers to it as `k<index>`; the
 * generated code is made only of runtime helper names, `v.<method>`, `k<n>`, numbers the compiler
 * writes itself (-1, 0, 1), parentheses, commas and operators. instantiateCondition re-checks
 * that alphabet before calling `new Function`.
 */

export interface CompiledConditionData {
  /** A JavaScript expression over `v` (MessageView), `k0…kN` (constants) and runtime helpers; yields a Tri. */
  readonly code: string;
  readonly constants: readonly unknown[];
  /** True when no message can make it anything but True (no WHERE, or `WHERE true`). */
  readonly alwaysTrue: boolean;
  readonly usesBody: boolean;
}

export interface CompileOptions {
  /** The route's FROM path; `twin_change_includes` is only valid for /twinChangeNotifications. */
  readonly source?: string;
}

export type ConditionCompileResult = { ok: true; condition: CompiledConditionData } | { ok: false; problem: RouteProblem };

/** Compiles a bare condition (positions in errors are relative to `condition`). */
export function compileCondition(condition: string, options: CompileOptions = {}): ConditionCompileResult {
  try {
    const cursor = new TokenCursor(condition, lexRoute(condition));
    // Azure's `condition: expr | EOF`: an empty condition is Undefined.
    if (cursor.peek().kind === Tok.Eof) return { ok: true, condition: { code: '0', constants: [], alwaysTrue: false, usesBody: false } };
    const node = parseExpression(cursor);
    const rest = cursor.peek();
    if (rest.kind !== Tok.Eof) cursor.syntax(`unexpected ${describeToken(rest)} after the end of the condition`, rest);
    return { ok: true, condition: compileConditionNode(node, condition, options) };
  } catch (error) {
    if (error instanceof RouteFailure) return { ok: false, problem: error.problem };
    throw error;
  }
}

/** Compiles a parsed condition; `text` is what the node offsets point into. Throws RouteFailure. */
export function compileConditionNode(node: ConditionNode | null, text: string, options: CompileOptions = {}): CompiledConditionData {
  if (node === null) return { code: '1', constants: [], alwaysTrue: true, usesBody: false };
  const compiler = new Compiler(text, options.source === undefined ? false : isTwinSource(options.source));
  const code = toBool(compiler.visit(node));
  return { code, constants: compiler.constants, alwaysTrue: code === '1', usesBody: compiler.usesBody };
}

function isTwinSource(source: string): boolean {
  return normalizeSource(source).toLowerCase().startsWith('/twinchangenotifications/');
}

/** The whole condition converts to Bool: a number or string is Undefined, null is False. */
function toBool(e: Emitted): string {
  switch (e.type) {
    case 'bool':
      return e.code;
    case 'null':
      return '-1';
    case 'qv':
      return `bQ(${e.code})`;
    default:
      return '0';
  }
}

const COMPARATOR: Record<'bool' | 'double' | 'string' | 'qv', string> = { bool: 'cmpB', double: 'cmpD', string: 'cmpS', qv: 'cmpQ' };
const COMPARE_OP: Record<string, string> = { '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '=': 'eq', '!=': 'ne', '<>': 'ne' };
const ARITHMETIC: Record<string, string> = { '*': 'mulQ', '/': 'divQ', '%': 'modQ', '+': 'addQ', '-': 'subQ' };
const SUPPORTED_BY_QV = new Set<StaticType>(['null', 'double', 'string', 'bool']);

class Compiler {
  readonly constants: unknown[] = [];
  usesBody = false;

  constructor(
    private readonly text: string,
    private readonly twinSource: boolean,
  ) {}

  private constant(value: unknown): string {
    this.constants.push(value);
    return `k${this.constants.length - 1}`;
  }

  visit(node: ConditionNode): Emitted {
    switch (node.kind) {
      case 'string':
        return { type: 'string', code: this.constant(node.value) };
      case 'number':
        if (Number.isNaN(node.value)) {
          fail('OUTPOST_ROUTE_TYPE', `'${node.text}' reads as a number literal but is not a valid number (a name cannot look like a number)`, this.text, node.start, node.end - node.start);
        }
        return { type: 'double', code: this.constant(node.value) };
      case 'bool':
        return { type: 'bool', code: node.value ? '1' : '-1' };
      case 'null':
        return { type: 'null', code: 'null' };
      case 'undefined':
        return { type: 'undefined', code: 'undefined' };
      case 'property':
        return { type: 'string', code: `v.p(${this.constant(node.name)}, ${this.constant(upperInvariant(node.name))})` };
      case 'sysProperty':
        return this.sysProperty(node.name, node.start, false);
      case 'sysEscaped':
        return this.sysProperty(node.name, node.nameStart, true);
      case 'call':
        return compileCall(node, this.text, {
          visit: (arg) => this.visit(arg),
          constant: (value) => this.constant(value),
          twinSource: this.twinSource,
          markBody: () => (this.usesBody = true),
        });
      case 'unary':
        return this.unary(node);
      case 'binary':
        return this.binary(node);
    }
  }

  /**
   * `$name` (escaped = false) and `{$name}` (escaped = true), section 4.7 of the notes:
   * `$body.<path>` is a body query, shadowed by an application property of exactly that name
   * unless escaped or the name has '[' or ']'; any other `$name` is an application property named
   * `$name` if present, else the system property `name`; `{$name}` is always the system property.
   */
  private sysProperty(name: string, start: number, escaped: boolean): Emitted {
    if (name.toLowerCase().startsWith('$body.')) {
      const path = name.slice('$body.'.length);
      const parsed = parseJsonPath(path);
      if (!parsed.ok) fail('OUTPOST_ROUTE_TYPE', `invalid $body query '${name}': ${parsed.reason}`, this.text, start + 6 + parsed.index, Math.max(1, name.length - 6 - parsed.index));
      this.usesBody = true;
      const segments = this.constant(parsed.segments);
      if (escaped || name.includes('[') || name.includes(']')) return { type: 'qv', code: `v.b(${segments})` };
      return { type: 'qv', code: `v.pb(${this.constant(name)}, ${this.constant(upperInvariant(name))}, ${segments})` };
    }
    if (name.includes('[') || name.includes(']')) {
      fail('OUTPOST_ROUTE_TYPE', `'${name}': only $body queries may use '[' or ']' (Azure reads this as undefined)`, this.text, start, name.length);
    }
    const sys = name.slice(1);
    const sysArgs = `${this.constant(sys)}, ${this.constant(upperInvariant(sys))}`;
    if (escaped) return { type: 'string', code: `v.s(${sysArgs})` };
    return { type: 'string', code: `v.d(${this.constant(name)}, ${this.constant(upperInvariant(name))}, ${sysArgs})` };
  }

  private unary(node: Extract<ConditionNode, { kind: 'unary' }>): Emitted {
    const operand = this.visit(node.operand);
    if (node.op === '-') {
      if (operand.type === 'double') return { type: 'double', code: `(-(${operand.code}))` };
      if (operand.type === 'qv') return { type: 'qv', code: `negQ(${operand.code})` };
      return this.operandError(node.opText, node.opStart, [operand.type], 'number');
    }
    // NOT takes Bool (or a QueryValue holding one); `NOT null` is True.
    if (operand.type === 'bool') return { type: 'bool', code: `(-(${operand.code}))` };
    if (operand.type === 'null') return { type: 'bool', code: '1' };
    if (operand.type === 'qv') return { type: 'bool', code: `notQ(${operand.code})` };
    return this.operandError(node.opText, node.opStart, [operand.type], 'bool');
  }

  private binary(node: Extract<ConditionNode, { kind: 'binary' }>): Emitted {
    const left = this.visit(node.left);
    const right = this.visit(node.right);
    const op = node.op;
    const error = (expected: string): never => this.operandError(node.opText, node.opStart, [left.type, right.type], expected);
    switch (op) {
      case '*':
      case '/':
      case '%':
      case '+':
      case '-': {
        if (!this.sameOrQv('double', left, right)) return error('number');
        if (left.type === 'double' && right.type === 'double') return { type: 'double', code: `(${left.code} ${op} ${right.code})` };
        return { type: 'qv', code: `${ARITHMETIC[op]!}(${toQv(left)}, ${toQv(right)})` };
      }
      case '||':
        if (!this.sameOrQv('string', left, right)) return error('string');
        return { type: 'string', code: `cat(${toStr(left)}, ${toStr(right)})` };
      case '<':
      case '<=':
      case '>':
      case '>=':
      case '=':
      case '!=':
      case '<>':
        return this.compare(op, left, right, error);
      case 'and':
      case 'or':
        return this.logical(op, left, right, error);
      case '??':
        return this.coalesce(left, right, error);
    }
  }

  /** Both sides `type`, or QueryValues (which can hold a number or a string). */
  private sameOrQv(type: 'double' | 'string', left: Emitted, right: Emitted): boolean {
    return (left.type === type || left.type === 'qv') && (right.type === type || right.type === 'qv');
  }

  /** Comparisons need both sides of the left side's type (a QueryValue fits any but undefined). */
  private compare(op: string, left: Emitted, right: Emitted, error: (expected: string) => never): Emitted {
    const mixed = left.type === 'qv' || right.type === 'qv';
    const other = left.type === 'qv' ? right : left;
    if (mixed ? !(other.type === 'qv' || SUPPORTED_BY_QV.has(other.type)) : left.type !== right.type) {
      // The classic mistake: properties are strings, so `temp > 50` needs as_number(temp).
      const hint = (left.type === 'string' && right.type === 'double') || (left.type === 'double' && right.type === 'string') ? ' (properties are strings: compare numbers with as_number(<property>))' : '';
      return error(`'${typeName(left.type)}' on both sides${hint}`);
    }
    const mapper = COMPARE_OP[op]!;
    if (mixed) return { type: 'bool', code: `${mapper}(cmpQ(${toQv(left)}, ${toQv(right)}))` };
    switch (left.type) {
      case 'null':
        return { type: 'bool', code: op === '=' || op === '<=' || op === '>=' ? '1' : '-1' };
      case 'undefined':
        return { type: 'bool', code: '0' };
      default:
        return { type: 'bool', code: `${mapper}(${COMPARATOR[left.type as 'bool']}(${left.code}, ${right.code}))` };
    }
  }

  /** AND and OR over Bool, Undefined (a Bool that is Undefined), Null and QueryValue operands. */
  private logical(op: 'and' | 'or', left: Emitted, right: Emitted, error: (expected: string) => never): Emitted {
    const ok = (e: Emitted) => e.type === 'bool' || e.type === 'undefined' || e.type === 'null' || e.type === 'qv';
    if (!ok(left) || !ok(right)) return error('bool');
    const asBool = (e: Emitted) => (e.type === 'undefined' ? '0' : e.code);
    if (op === 'and') {
      // Null AND anything is Null (False at the top); `(null and true) = null` is True.
      if (left.type === 'null' || right.type === 'null') return { type: 'null', code: 'null' };
      if (left.type === 'qv' || right.type === 'qv') return { type: 'bool', code: `andQ(${toQv(left)}, ${toQv(right)})` };
      return { type: 'bool', code: `and(${asBool(left)}, ${asBool(right)})` };
    }
    if (left.type === 'null' && right.type === 'null') return { type: 'null', code: 'null' };
    if (left.type === 'null') return right.type === 'qv' ? { type: 'bool', code: `bQ(${right.code})` } : { type: 'bool', code: asBool(right) };
    if (right.type === 'null') return left.type === 'qv' ? { type: 'bool', code: `bQ(${left.code})` } : { type: 'bool', code: asBool(left) };
    if (left.type === 'qv' || right.type === 'qv') return { type: 'bool', code: `orQ(${toQv(left)}, ${toQv(right)})` };
    return { type: 'bool', code: `or(${asBool(left)}, ${asBool(right)})` };
  }

  /** `a ?? b`: both sides of one type (or a QueryValue mix); `b` when `a` is undefined. */
  private coalesce(left: Emitted, right: Emitted, error: (expected: string) => never): Emitted {
    if (left.type === 'qv' || right.type === 'qv') {
      const other = left.type === 'qv' ? right : left;
      if (other.type !== 'qv' && !SUPPORTED_BY_QV.has(other.type)) return error(`'${typeName(left.type)}' on both sides`);
      return { type: 'qv', code: `coQ(${toQv(left)}, ${toQv(right)})` };
    }
    if (left.type !== right.type) return error(`'${typeName(left.type)}' on both sides`);
    switch (left.type) {
      case 'undefined':
      case 'null':
        return left;
      case 'string':
        return { type: 'string', code: `coS(${left.code}, ${right.code})` };
      case 'double':
        return { type: 'double', code: `coD(${left.code}, ${right.code})` };
      default:
        return { type: 'bool', code: `coB(${left.code}, ${right.code})` };
    }
  }

  private operandError(op: string, at: number, have: StaticType[], expected: string): never {
    const arity = have.length === 1 ? 'unary' : 'binary';
    const given = have.map((t) => `'${typeName(t)}'`).join(' and ');
    return fail('OUTPOST_ROUTE_TYPE', `invalid operands to ${arity} operator '${op}': have ${given}, expected ${expected}`, this.text, at, op.length);
  }
}

/** A value of any static type as a QueryValue (Azure's implicit conversions). */
export function toQv(e: Emitted): string {
  switch (e.type) {
    case 'qv':
      return e.code;
    case 'string':
      return `qS(${e.code})`;
    case 'double':
      return `qD(${e.code})`;
    case 'bool':
      return `qB(${e.code})`;
    case 'null':
      return 'null';
    case 'undefined':
      return 'undefined';
  }
}

function toStr(e: Emitted): string {
  return e.type === 'qv' ? `sQ(${e.code})` : e.code;
}
