import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../errors/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost twin show|update-desired`: the operator as the local cloud. Both ask the running hub
 * (its control socket <dataDir>/hub.sock) and print JSON. Exit codes: 0 done; 1 refused (the
 * status and reason on stderr: 400 invalid patch, 404 unknown identity) or no hub; 2 usage.
 */
export function twinCommand(program: Command, setExit: (code: number) => void): void {
  const twin = program
    .command('twin')
    .description('read twins and set desired properties of devices and modules (asks the running hub)')
    .addHelpText('after', `\nExamples:\n  outpost twin show dev1\n  outpost twin show edge-1/filter\n  outpost twin update-desired dev1 --patch '{"interval": 30}'\n  outpost twin update-desired edge-1/filter --file desired.json`);

  const show = twin
    .command('show')
    .description('print the twin of a device or module as JSON: {deviceId, moduleId, version, properties: {desired, reported}}')
    .argument('<identity>', 'deviceId or deviceId/moduleId')
    .addHelpText('after', `\nExamples:\n  outpost twin show dev1\n  outpost twin show edge-1/filter | jq .properties.reported`)
    .exitOverride();
  addConfigOptions(show);
  show.action(async (identity: string) => setExit(await call(show, identity, 'GET', undefined)));

  const update = twin
    .command('update-desired')
    .description('merge a patch into the desired properties (null removes a key); connected clients get it at once, others when they reconnect. Prints {"version": n}')
    .argument('<identity>', 'deviceId or deviceId/moduleId')
    .option('--patch <json>', 'the patch, a JSON object')
    .option('--file <file>', "a file holding the patch ('-' reads standard input)")
    .addHelpText(
      'after',
      `\nExamples:\n  outpost twin update-desired dev1 --patch '{"interval": 30, "thresholds": {"high": 90}}'\n  outpost twin update-desired dev1 --patch '{"thresholds": null}'   # removes thresholds\n  outpost twin update-desired edge-1/filter --file desired.json`,
    )
    .exitOverride();
  addConfigOptions(update);
  update.action(async (identity: string) => {
    const opts = update.opts<{ patch?: string; file?: string }>();
    if ((opts.patch === undefined) === (opts.file === undefined)) {
      setExit(reportCliError(new OutpostError('OUTPOST_CLI_USAGE', 'give the patch with exactly one of --patch <json> or --file <file>')));
      return;
    }
    let text = opts.patch;
    if (text === undefined) {
      try {
        text = readFileSync(opts.file === '-' ? 0 : opts.file!, 'utf8');
      } catch (cause) {
        setExit(reportCliError(new OutpostError('OUTPOST_CLI_USAGE', `cannot read ${opts.file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause })));
        return;
      }
    }
    setExit(await call(update, identity, 'PATCH', text));
  });
}

async function call(command: Command, identity: string, method: 'GET' | 'PATCH', body: string | undefined): Promise<number> {
  const path = twinPath(identity);
  if (path instanceof OutpostError) return reportCliError(path);
  const config = loadCliConfig(command);
  if (!config.ok) return reportCliError(config.error);
  const client = new HubControlClient(join(config.loaded.config.dataDir, HUB_CONTROL_SOCKET));
  try {
    const answer = await client.call(method, method === 'GET' ? path : `${path}/desired`, body);
    if (answer.status === 200) {
      process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
      return 0;
    }
    const error = answer.body as { code?: string; message?: string };
    process.stderr.write(`outpost: ${answer.status} ${error.message ?? JSON.stringify(answer.body)} [${error.code ?? 'OUTPOST_INTERNAL'}]\n`);
    return 1;
  } catch (error) {
    return reportCliError(error);
  }
}

/** `dev1` → /v1/twins/dev1, `dev1/mod` → /v1/twins/dev1/modules/mod. */
function twinPath(identity: string): string | OutpostError {
  const parts = identity.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) return new OutpostError('OUTPOST_CLI_USAGE', `${JSON.stringify(identity)} is not deviceId or deviceId/moduleId`);
  const [deviceId, moduleId] = parts as [string, string | undefined];
  return `/v1/twins/${encodeURIComponent(deviceId)}${moduleId === undefined ? '' : `/modules/${encodeURIComponent(moduleId)}`}`;
}
