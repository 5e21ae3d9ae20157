/**
 * The parsed form of a route condition. Every node keeps its offsets in the compiled text so that
 * type errors can point at the operator or argument at fault, as Azure's error listener does.
 */

interface Span {
  readonly start: number;
  readonly end: number;
}

export type BinaryOp = '*' | '/' | '%' | '+' | '-' | '||' | '<' | '<=' | '>' | '>=' | '=' | '!=' | '<>' | 'and' | 'or' | '??';

export type ConditionNode =
  | (Span & { readonly kind: 'string'; readonly value: string })
  /** `text` is kept: a literal that is not a valid number (e.g. `e5`) is a compile error, not a parse error. */
  | (Span & { readonly kind: 'number'; readonly value: number; readonly text: string })
  | (Span & { readonly kind: 'bool'; readonly value: boolean })
  | (Span & { readonly kind: 'null' })
  | (Span & { readonly kind: 'undefined' })
  /** A bare name: an application property. */
  | (Span & { readonly kind: 'property'; readonly name: string })
  /** `$name` with the `$`: an application property of that name, else a system property or a $body query. */
  | (Span & { readonly kind: 'sysProperty'; readonly name: string })
  /** `{$name}`: always the system property (or the $body query). `name` keeps the `$`. */
  | (Span & { readonly kind: 'sysEscaped'; readonly name: string; readonly nameStart: number })
  | (Span & {
      readonly kind: 'call';
      readonly name: string;
      readonly nameStart: number;
      readonly args: readonly ConditionNode[];
      /** The argument tokens concatenated without whitespace, as ANTLR's GetText gives them. */
      readonly argsText: string;
    })
  | (Span & { readonly kind: 'unary'; readonly op: '-' | 'not'; readonly opStart: number; readonly opText: string; readonly operand: ConditionNode })
  | (Span & {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly opStart: number;
      readonly opText: string;
      readonly left: ConditionNode;
      readonly right: ConditionNode;
    });
