import type { Command } from 'commander';
import { Option } from 'commander';
import { describeOrigin, hostEnvironment, leaves, ConfigSchema } from '../config/index.js';
import { deploymentFileOf, programProblems, readDeployment, type RuntimeKind } from '../agent/index.js';
import { policyFromDeployment } from '../hub/auth/index.js';
import { formatProblem, type ConfigProblem } from '../config/index.js';
import { addConfigOptions } from './config-options.js';
import { loadCliConfig } from './load-cli-config.js';
import { formatManifestProblem } from './deploy-command.js';
import { checkDeploymentRoutes } from './routes-command.js';

/**
 * `outpost check`: validates the configuration and the deployment manifest, prints every
 * problem (not just the first), and exits 2 when there is any.
 */
export function checkCommand(program: Command, setExit: (code: number) => void): void {
  const command = program.command('check').description('validate the configuration and the deployment manifest, print every problem');
  addConfigOptions(command);
  command.addOption(new Option('--print', 'print each effective configuration value and where it came from'));
  command.action(() => setExit(check(command)));
}

function check(command: Command): number {
  const out: string[] = [];
  const errors: string[] = [];
  const result = loadCliConfig(command);
  let deploymentFile: string | undefined;
  let runtime: RuntimeKind | undefined;
  if (result.ok) {
    const { config, origins, warnings, configFile } = result.loaded;
    out.push(`configuration: ok${configFile === null ? ' (no config file)' : ` (${configFile})`}`);
    for (const warning of warnings) out.push(`  warning: ${warning}`);
    if (command.opts().print === true) {
      for (const leaf of leaves(ConfigSchema)) {
        const value = leaf.segments.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
        out.push(`  ${leaf.path} = ${JSON.stringify(value)}  (${describeOrigin(origins.get(leaf.path) ?? { source: 'default', origin: 'default' })})`);
      }
    }
    if (config.routes !== null) out.push(`routes: ${Object.keys(config.routes).length} in the configuration (used by \`outpost hub\`; \`outpost run\` takes the deployment's)`);
    if (config.auth.policy !== null) out.push('authorization policy: in the configuration (used by `outpost hub`; `outpost run` takes the deployment\'s)');
    deploymentFile = deploymentFileOf(config);
    runtime = config.agent.runtime;
  } else {
    const problems = (result.error.details?.problems as ConfigProblem[] | undefined) ?? [];
    errors.push(`configuration: ${problems.length === 0 ? result.message : `${problems.length} problem(s)`}`);
    for (const problem of problems) errors.push(`  - ${formatProblem(problem)} (${problem.code})`);
    // Still check a manifest named on the command line, so one run reports everything it can.
    const named = command.opts().deployment;
    if (typeof named === 'string') deploymentFile = named;
  }
  if (deploymentFile !== undefined) {
    const result = readDeployment(deploymentFile, runtime);
    if (result.ok) {
      const { manifest } = result.deployment;
      // The programs of process modules are looked for as the process runtime would run them
      // (also when the configuration did not load, so one run reports everything it can).
      const programs = runtime === 'docker' ? [] : programProblems(result.deployment, hostEnvironment().PATH ?? '');
      if (programs.length === 0) out.push(`deployment: ok (${deploymentFile}; modules: ${manifest.moduleIds.join(', ') || 'none'})`);
      else {
        errors.push(`deployment: ${programs.length} module program(s) missing in ${deploymentFile}`);
        errors.push(...programs.map(formatManifestProblem));
      }
      const routes = checkDeploymentRoutes(manifest.hub);
      out.push(...routes.out);
      out.push(`authorization policy: ${policyFromDeployment(manifest.hub) === undefined ? 'default (no mqttBroker.authorizations)' : 'ok'}`);
      errors.push(...routes.errors);
    } else {
      errors.push(`deployment: ${result.problems.length} problem(s) in ${deploymentFile} (status ${result.code})`);
      for (const problem of result.problems) errors.push(formatManifestProblem({ ...problem, code: problem.code ?? 'OUTPOST_DEPLOYMENT_INVALID' }));
    }
  }
  if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
  if (errors.length > 0) {
    process.stderr.write(errors.join('\n') + '\n');
    return 2;
  }
  return 0;
}
