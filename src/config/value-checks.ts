/**
 * Content checks of the structured configuration values, by the same code that will use them:
 * the route compiler (positions of errors in the route text) and the policy reader (the path of
 * every problem). A configuration that loads has routes that compile and a policy that reads.
 */
import { parsePolicy } from '../hub/auth/index.js';
import { compileRouteTable, describeProblem } from '../hub/routing/index.js';
import type { LeafCheckProblem } from './schema-helpers.js';

export function checkRoutes(value: unknown): LeafCheckProblem[] {
  const table = compileRouteTable(value);
  return table.rejected.map((rejected) => {
    const prefix = `route "${rejected.name}": `;
    const reason = rejected.problem !== undefined ? describeProblem(rejected.problem) : rejected.error.message.startsWith(prefix) ? rejected.error.message.slice(prefix.length) : rejected.error.message;
    return { path: rejected.name === '' ? '' : `.${rejected.name}`, message: reason, code: rejected.error.code };
  });
}

export function checkPolicy(value: unknown): LeafCheckProblem[] {
  const parsed = parsePolicy(value);
  if (parsed.ok) return [];
  return parsed.problems.map((problem) => ({
    path: problem.path === '' ? '' : problem.path.startsWith('[') ? problem.path : `.${problem.path}`,
    message: problem.message,
    code: 'OUTPOST_AUTH_POLICY_INVALID',
  }));
}
