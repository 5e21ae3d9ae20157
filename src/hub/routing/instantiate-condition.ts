import type { CompiledConditionData } from './condition-compiler.js';
import type { MessageView } from './message-view.js';
import { RUNTIME, RUNTIME_NAMES, type Tri } from './route-runtime.js';

export type ConditionFn = (view: MessageView) => Tri;

// The whole alphabet of generated code: no quotes, backticks, backslashes, brackets, braces,
// semicolons or '=' — so no string, template, property access by name, block or assignment can
// appear, whatever a bug in the compiler or a corrupted transfer would try to smuggle in.
const CODE_ALPHABET = /^[A-Za-z0-9_ (),.+\-*/%]*$/;
const IDENTIFIER = /(\.)?([A-Za-z_][A-Za-z0-9_]*)/g;
const VIEW_METHODS = new Set(['p', 's', 'd', 'pb', 'b', 't']);
const KNOWN = new Set<string>([...RUNTIME_NAMES, 'v', 'null', 'undefined']);
const PRELUDE = `"use strict"; const { ${RUNTIME_NAMES.join(', ')} } = R;`;

/**
 * Turns compiled condition data (possibly received from the compiler worker) into a function.
 * The code is checked against the compiler's alphabet and vocabulary first; constants are bound
 * as `k0…kN` closure variables, never spliced into the source.
 */
export function instantiateCondition(data: CompiledConditionData): ConditionFn {
  checkCode(data.code, data.constants.length);
  const bindings = data.constants.map((_, i) => `k${i} = K[${i}]`);
  const source = `${PRELUDE}${bindings.length > 0 ? ` const ${bindings.join(', ')};` : ''} return function condition(v) { return ${data.code}; };`;
  // new Function is the point of the compiler: V8 then optimizes each route like hand-written code.
  const factory = new Function('R', 'K', source) as (runtime: typeof RUNTIME, constants: readonly unknown[]) => ConditionFn;
  return factory(RUNTIME, data.constants);
}

function checkCode(code: string, constantCount: number): void {
  if (!CODE_ALPHABET.test(code)) throw new Error('refusing condition code outside the compiler alphabet');
  for (const match of code.matchAll(IDENTIFIER)) {
    const [, dot, name] = match;
    const ok =
      dot !== undefined ? VIEW_METHODS.has(name!) && code.slice(0, match.index).endsWith('v') : KNOWN.has(name!) || (/^k\d+$/.test(name!) && Number(name!.slice(1)) < constantCount);
    if (!ok) throw new Error(`refusing condition code with unknown name '${name!}'`);
  }
}
