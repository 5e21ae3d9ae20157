import type { Command } from 'commander';
import { OutpostError } from '../errors/index.js';
import { addConfigOptions } from './config-options.js';
import { agentClientFor, reportCliError } from './list-command.js';

/**
 * `outpost logs <module> [--follow] [--tail N]`: a module's output (stdout and stderr), from the
 * running agent. With --follow it streams until Ctrl-C.
 */
export function logsCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('logs')
    .description("print a module's output (asks the running agent)")
    .argument('<module>', 'module id')
    .option('-f, --follow', 'keep printing new output')
    .option('--tail <n>', 'only the last n lines (or "all")', 'all');
  addConfigOptions(command);
  command.action(async (module: string) => setExit(await logs(command, module)));
}

async function logs(command: Command, module: string): Promise<number> {
  const { follow, tail } = command.opts<{ follow?: boolean; tail: string }>();
  if (tail !== 'all' && !/^\d+$/.test(tail)) return reportCliError(new OutpostError('OUTPOST_CLI_USAGE', `--tail must be a number of lines or "all", not ${JSON.stringify(tail)}`));
  const target = agentClientFor(command);
  if (target instanceof OutpostError) return reportCliError(target);
  try {
    const response = await target.client.open('GET', `/v1/modules/${encodeURIComponent(module)}/logs?tail=${tail}${follow === true ? '&follow=1' : ''}`);
    if (response.statusCode !== 200) {
      let text = '';
      for await (const chunk of response) text += (chunk as Buffer).toString('utf8');
      const body = JSON.parse(text) as { code?: string; message?: string };
      process.stderr.write(`outpost: ${body.message ?? text} [${body.code ?? response.statusCode}]\n`);
      return 1;
    }
    const stop = () => response.destroy();
    process.once('SIGINT', stop);
    try {
      for await (const chunk of response) process.stdout.write(chunk as Buffer);
    } catch {
      // destroyed by Ctrl-C
    } finally {
      process.off('SIGINT', stop);
    }
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}
