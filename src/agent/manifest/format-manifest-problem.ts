import type { ManifestProblem } from './load-manifest.js';

/** One problem of a rejected deployment, as the CLI prints it; an invalid route gets its line with a caret under the error. */
export function formatManifestProblem(problem: ManifestProblem): string {
  const line = `  - ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}${problem.code === undefined ? '' : ` (${problem.code})`}`;
  if (problem.excerpt === undefined) return line;
  return [line, ...problem.excerpt.split('\n').map((text) => `      ${text}`)].join('\n');
}
