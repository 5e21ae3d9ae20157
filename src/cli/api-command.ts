import type { Command } from 'commander';
import { apiToken, OPERATOR_API_PREFIX } from '../hub/control/index.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost api token [--rotate]`: prints the operator API's bearer token (<dataDir>/api.token,
 * made if missing). The API is the control socket's, on the HTTPS listener under /v1/
 * (docs/operations.md, "The operator API"); `--rotate` makes a new token, refusing the old one at once.
 */
export function apiCommand(program: Command, setExit: (code: number) => void): void {
  const api = program.command('api').description(`the operator API on the HTTPS listener (${OPERATOR_API_PREFIX}…, a bearer token)`);
  const token = api
    .command('token')
    .description('print the operator API token (from <dataDir>/api.token, made if missing)')
    .option('--rotate', 'make a new token; the old one is refused from now on')
    .addHelpText('after', `
Examples:
  outpost api token
  curl --cacert <dataDir>/certs/dev-ca.pem -H "Authorization: Bearer $(outpost api token)" https://gateway:8443/v1/twins/dev1
  outpost api token --rotate`);
  addConfigOptions(token);
  token.action(() => setExit(printToken(token)));
}

function printToken(command: Command): number {
  const result = loadCliConfig(command);
  if (!result.ok) return reportCliError(result.error);
  const { config } = result.loaded;
  try {
    const file = apiToken(config.dataDir);
    process.stdout.write(`${command.opts<{ rotate?: boolean }>().rotate === true ? file.rotate() : file.ensure()}\n`);
    if (!config.https.enabled) process.stderr.write('outpost: https.enabled is false in this configuration: the operator API is not served\n');
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}
