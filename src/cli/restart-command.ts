import type { Command } from 'commander';
import { OutpostError } from '../errors/index.js';
import { addConfigOptions } from './config-options.js';
import { agentClientFor, reportCliError } from './list-command.js';

/** `outpost restart <module>`: stop and start a module now, with a clean restart count. */
export function restartCommand(program: Command, setExit: (code: number) => void): void {
  const command = program.command('restart').description('restart a module now (asks the running agent)').argument('<module>', 'module id');
  addConfigOptions(command);
  command.action(async (module: string) => setExit(await restart(command, module)));
}

async function restart(command: Command, module: string): Promise<number> {
  const target = agentClientFor(command);
  if (target instanceof OutpostError) return reportCliError(target);
  try {
    const answer = await target.client.call('POST', `/v1/modules/${encodeURIComponent(module)}/restart`);
    if (answer.status === 200) {
      process.stdout.write(`restarted ${module}\n`);
      return 0;
    }
    const body = answer.body as { code?: string; message?: string };
    process.stderr.write(`outpost: ${body.message ?? JSON.stringify(body)} [${body.code ?? answer.status}]\n`);
    return 1;
  } catch (error) {
    return reportCliError(error);
  }
}
