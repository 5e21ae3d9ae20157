import type { Command } from 'commander';
import { DASHBOARD_PATH, DashboardToken } from '../dashboard/index.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost dashboard url [--rotate] [--host <name>]`: prints the sign-in link of the live
 * dashboard, `https://<gateway>:<https.port>/dashboard#token=<operator token>`. The token sits in
 * the fragment, which browsers never send, so it reaches no log or proxy; the page posts it once
 * for a session cookie. `--rotate` makes a new token first, which ends every open session.
 */
export function dashboardCommand(program: Command, setExit: (code: number) => void): void {
  const dashboard = program.command('dashboard').description('the live dashboard at /dashboard on the HTTPS listener');
  const url = dashboard
    .command('url')
    .description('print the dashboard sign-in link (with the operator token from <dataDir>/dashboard.token, made if missing)')
    .option('--rotate', 'make a new operator token first; every signed-in browser is signed out')
    .option('--host <name>', 'host name in the link (default: gatewayHostname)');
  addConfigOptions(url);
  url.action(() => setExit(printUrl(url)));
}

function printUrl(command: Command): number {
  const result = loadCliConfig(command);
  if (!result.ok) return reportCliError(result.error);
  const { config } = result.loaded;
  const options = command.opts<{ rotate?: boolean; host?: string }>();
  try {
    const token = new DashboardToken(config.dataDir);
    const secret = options.rotate === true ? token.rotate() : token.ensure();
    const host = options.host ?? config.gatewayHostname;
    const port = config.https.port === 443 ? '' : `:${config.https.port}`;
    process.stdout.write(`https://${host.includes(':') ? `[${host}]` : host}${port}${DASHBOARD_PATH}#token=${secret}\n`);
    if (!config.https.enabled || !config.dashboard.enabled) process.stderr.write(`outpost: the dashboard is off in this configuration (${!config.https.enabled ? 'https.enabled' : 'dashboard.enabled'} is false)\n`);
    else if (config.https.port === 0) process.stderr.write('outpost: https.port is 0 (a free port): use the port the hub logged in hub.ready\n');
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}
