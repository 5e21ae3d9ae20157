import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatManifestProblem, type ManifestProblem } from '../agent/index.js';
import { OutpostError } from '../errors/index.js';
import { addConfigOptions } from './config-options.js';
import { agentClientFor, reportCliError } from './list-command.js';

/**
 * `outpost deploy <file>`: hands a deployment manifest to the running agent, which validates it
 * and, when valid, applies it and keeps it (it stays in force across agent restarts until the
 * configured manifest file changes). Prints the result once the agent has run the plan: exit 0
 * applied, 2 rejected (with Azure's status code and every problem), 1 no agent.
 */
export function deployCommand(program: Command, setExit: (code: number) => void): void {
  const command = program.command('deploy').description('apply a deployment manifest on the running agent').argument('<file>', 'deployment manifest (JSON)');
  addConfigOptions(command);
  command.action(async (file: string) => setExit(await deploy(command, file)));
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
