import { programProblems, routeProblems } from './deployment-checks.js';
import { DeploymentStatusCode } from './deployment-status.js';
import { readDeployment } from './read-deployment.js';
import type { DeploymentResult, RuntimeKind } from './validate-deployment.js';

export interface ValidateForApplyOptions {
  /** The agent's module runtime; undefined (a configuration that did not load) checks what each module names. */
  readonly runtime: RuntimeKind | undefined;
  /** PATH a process module's bare command is looked up in. */
  readonly searchPath: string;
  /** The manifest text when it did not come from `file` (`outpost deploy` sends it). */
  readonly text?: string;
}

/**
 * The one validation a deployment passes before it is applied on an operator's request: the
 * manifest's schema and modules (validateDeployment), then what it would meet once applied
 * (deployment-checks.ts: every route compiles, every process module's program exists). Both
 * `outpost deploy` (DeploymentSource.deploy, in the agent) and `outpost check` call this, so
 * check passes exactly what deploy would accept, with the same status code and problems.
 */
export function validateForApply(file: string, options: ValidateForApplyOptions): DeploymentResult {
  const { runtime, text } = options;
  if (text !== undefined && text.trim() === '') return { ok: false, code: DeploymentStatusCode.ConfigEmptyError, problems: [{ path: '', message: 'the deployment manifest is empty' }] };
  const result = readDeployment(file, runtime, text);
  if (!result.ok) return result;
  const deployment = result.deployment;
  const problems = [...routeProblems(deployment.manifest.hub), ...(runtime === 'docker' ? [] : programProblems(deployment, options.searchPath))];
  if (problems.length === 0) return result;
  return { ok: false, code: DeploymentStatusCode.ConfigFormatError, problems };
}
