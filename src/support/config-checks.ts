import { formatManifestProblem, validateForApply, type DeploymentManifest, type RuntimeKind } from '../agent/index.js';
import { formatProblem, hostEnvironment, type ConfigProblem, type LoadedConfig } from '../config/index.js';
import { policyFromDeployment } from '../hub/auth/index.js';
import { compileRouteTable } from '../hub/routing/index.js';
import { result, type CheckResult } from './check-result.js';

/** The configuration as the CLI loaded it: the loaded value, or every problem. */
export type LoadedOrProblems = { ok: true; loaded: LoadedConfig } | { ok: false; message: string; problems: readonly ConfigProblem[] };

/** The configuration loads (every problem at once, each with its source). */
export function configurationCheck(config: LoadedOrProblems): CheckResult {
  const id = 'config-well-formed';
  const title = 'configuration';
  if (!config.ok) {
    const details = config.problems.map((problem) => `- ${formatProblem(problem)} (${problem.code})`);
    return result(id, title, 'fail', config.problems.length === 0 ? config.message : `${config.problems.length} problem(s)`, 'fix each setting named, at the source given in brackets (docs/config.md)', details);
  }
  const { configFile, warnings, config: value } = config.loaded;
  const notes: string[] = [];
  if (value.routes !== null) notes.push(`routes: ${Object.keys(value.routes).length} in the configuration (used by \`outpost hub\`; \`outpost run\` takes the deployment's)`);
  if (value.auth.policy !== null) notes.push("authorization policy: in the configuration (used by `outpost hub`; `outpost run` takes the deployment's)");
  const message = `ok${configFile === null ? ' (no config file)' : ` (${configFile})`}`;
  if (warnings.length > 0) return result(id, title, 'warn', message, 'see each warning', [...warnings.map((w) => `warning: ${w}`), ...notes]);
  return result(id, title, 'pass', message, undefined, notes);
}

/**
 * The deployment passes exactly the validation `outpost deploy` applies (validateForApply, shared
 * with the agent), then its routes' warnings and its broker policy are reported.
 */
export function deploymentChecks(file: string, runtime: RuntimeKind | undefined): { checks: CheckResult[]; manifest: DeploymentManifest | undefined } {
  const validated = validateForApply(file, { runtime, searchPath: hostEnvironment().PATH ?? '' });
  if (!validated.ok) {
    const details = validated.problems.map((problem) => dedent(formatManifestProblem(problem)));
    return {
      checks: [result('deployment-valid', 'deployment', 'fail', `${validated.problems.length} problem(s) in ${file} (status ${validated.code})`, '`outpost deploy` refuses this manifest with the same status and problems; fix each path named', details)],
      manifest: undefined,
    };
  }
  const { manifest } = validated.deployment;
  const checks = [result('deployment-valid', 'deployment', 'pass', `ok (${file}; modules: ${manifest.moduleIds.join(', ') || 'none'})`)];
  const hub = manifest.hub;
  const table = compileRouteTable(hub.routes, typeof hub.schemaVersion === 'string' ? { schemaVersion: hub.schemaVersion } : {});
  const total = table.routes.length;
  const warnings = table.routes.flatMap((route) => route.warnings.map((warning) => `warning: route "${route.name}": ${warning}`));
  checks.push(
    warnings.length === 0
      ? result('routes', 'routes', 'pass', `ok (${total} route${total === 1 ? '' : 's'})`)
      : result('routes', 'routes', 'warn', `ok (${total} route${total === 1 ? '' : 's'}), ${warnings.length} warning(s)`, 'a route that matches nothing never moves a message: check its FROM', warnings),
  );
  checks.push(result('authorization-policy', 'authorization policy', 'pass', policyFromDeployment(hub) === undefined ? 'default (no mqttBroker.authorizations)' : 'ok'));
  return { checks, manifest };
}

/** Whether any route of the deployment sends to $upstream. */
export function routesToUpstream(manifest: DeploymentManifest | undefined): boolean {
  if (manifest === undefined) return false;
  const table = compileRouteTable(manifest.hub.routes, typeof manifest.hub.schemaVersion === 'string' ? { schemaVersion: manifest.hub.schemaVersion } : {});
  return table.routes.some((route) => route.endpoint.kind === 'upstream');
}

/** formatManifestProblem indents by two for its own listing; a check's details are indented by the printer. */
function dedent(text: string): string {
  return text
    .split('\n')
    .map((line) => line.slice(2))
    .join('\n');
}
