import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { c2dCommand } from './c2d-command.js';
import { checkCommand } from './check-command.js';
import { apiCommand } from './api-command.js';
import { dashboardCommand } from './dashboard-command.js';
import { deployCommand } from './deploy-command.js';
import { identityCommand } from './identity-command.js';
import { listCommand } from './list-command.js';
import { logsCommand } from './logs-command.js';
import { restartCommand } from './restart-command.js';
import { routesCommand } from './routes-command.js';
import { serveCommand } from './serve-command.js';
import { storeCommand } from './store-command.js';
import { supportBundleCommand } from './support-bundle-command.js';
import { twinCommand } from './twin-command.js';
import { methodCommand } from './method-command.js';

/** Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('outpost')
    .description('Outpost: an IoT Edge runtime (edge hub and edge agent) with Azure IoT Edge wire contracts')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  serveCommand(program, 'run', 'run the hub and the agent in one process', { hub: true, agent: true }, setExit);
  serveCommand(program, 'hub', 'run the edge hub alone', { hub: true, agent: false }, setExit);
  serveCommand(program, 'agent', 'run the edge agent alone', { hub: false, agent: true }, setExit);
  checkCommand(program, setExit);
  routesCommand(program, setExit);
  identityCommand(program, setExit);
  storeCommand(program, setExit);
  listCommand(program, setExit);
  logsCommand(program, setExit);
  restartCommand(program, setExit);
  deployCommand(program, setExit);
  twinCommand(program, setExit);
  methodCommand(program, setExit);
  c2dCommand(program, setExit);
  dashboardCommand(program, setExit);
  apiCommand(program, setExit);
  supportBundleCommand(program, setExit);
  program
    .command('version')
    .description('print the version of Outpost and Node.js')
    .action(() => {
      process.stdout.write(`outpost ${VERSION} (node ${process.version})\n`);
    });
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; parse errors were already printed.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    throw error;
  }
  return exitCode;
}
