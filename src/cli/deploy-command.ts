import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { join } from 'node:path';
import { formatManifestProblem, type ManifestProblem } from '../agent/index.js';
import { OutpostError } from '../errors/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';
import { addConfigOptions } from './config-options.js';
import { agentClientFor, reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost deploy <file>`: hands a deployment manifest to the running agent, which validates it
 * and, when valid, applies it and keeps it (it stays in force across agent restarts until the
 * configured manifest file changes). Prints the result once the agent has run the plan: exit 0
 * applied, 2 rejected (with Azure's status code and every problem), 1 no agent.
 *
 * With `--device <child>` it asks the running hub instead: the manifest becomes the desired
 * properties of that edge device's module twins here, which its agent (managed from above) applies
 * and reports on (`outpost list --device <child>`). Exit 0 written, 2 rejected, 1 otherwise.
 */
export function deployCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('deploy')
    .description('apply a deployment manifest on the running agent, or (--device) send it to an edge device below this hub')
    .argument('<file>', 'deployment manifest (JSON)')
    .option('--device <deviceId>', "a child edge device: write the manifest as its $edgeAgent/$edgeHub/modules' desired properties")
    .addHelpText('after', `\nExamples:\n  outpost deploy deployment.json\n  outpost deploy deployment.json --device child-edge   # on the parent; then: outpost list --device child-edge`);
  addConfigOptions(command);
  command.action(async (file: string) => {
    const device = command.opts<{ device?: string }>().device;
    setExit(await (device === undefined ? deploy(command, file) : deployBelow(command, file, device)));
  });
}

async function deployBelow(command: Command, file: string, deviceId: string): Promise<number> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    return reportCliError(new OutpostError('OUTPOST_DEPLOYMENT_UNREADABLE', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause }));
  }
  const config = loadCliConfig(command);
  if (!config.ok) return reportCliError(config.error);
  const client = new HubControlClient(join(config.loaded.config.dataDir, HUB_CONTROL_SOCKET));
  try {
    const answer = await client.call('POST', `/v1/devices/${encodeURIComponent(deviceId)}/deployment`, text);
    const body = answer.body as { versions?: Record<string, number>; statusCode?: number; problems?: ManifestProblem[]; code?: string; message?: string };
    if (answer.status === 200) {
      process.stdout.write(`deployed ${path} to ${deviceId}: desired versions ${JSON.stringify(body.versions ?? {})}; its agent reports in \`outpost list --device ${deviceId}\`\n`);
      return 0;
    }
    if (body.statusCode !== undefined) {
      process.stderr.write(`outpost: deployment rejected with status ${body.statusCode}; nothing was changed:\n${(body.problems ?? []).map(formatManifestProblem).join('\n')}\n`);
      return 2;
    }
    process.stderr.write(`outpost: ${answer.status} ${body.message ?? JSON.stringify(body)} [${body.code ?? 'OUTPOST_INTERNAL'}]\n`);
    return 1;
  } catch (error) {
    return reportCliError(error);
  }
}

async function deploy(command: Command, file: string): Promise<number> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    return reportCliError(new OutpostError('OUTPOST_DEPLOYMENT_UNREADABLE', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause }));
  }
  const target = agentClientFor(command);
  if (target instanceof OutpostError) return reportCliError(target);
  try {
    const answer = await target.client.call('POST', `/v1/deployment?file=${encodeURIComponent(path)}`, text);
    const body = answer.body as { statusCode?: number; problems?: ManifestProblem[]; code?: string; message?: string };
    if (answer.status === 200) {
      const status = await target.client.call('GET', '/v1/status');
      const reported = status.body as { lastDesiredStatus?: { code: number; description: string } };
      const outcome = reported.lastDesiredStatus;
      process.stdout.write(`deployed ${path}: status ${outcome?.code ?? 200}${outcome?.description ? ` (${outcome.description})` : ''}\n`);
      return outcome === undefined || outcome.code === 200 ? 0 : 1;
    }
    if (body.statusCode !== undefined) {
      const lines = (body.problems ?? []).map(formatManifestProblem);
      process.stderr.write(`outpost: deployment rejected with status ${body.statusCode}; nothing was changed:\n${lines.join('\n')}\n`);
      return 2;
    }
    process.stderr.write(`outpost: ${body.message ?? JSON.stringify(body)} [${body.code ?? answer.status}]\n`);
    return 1;
  } catch (error) {
    return reportCliError(error);
  }
}
