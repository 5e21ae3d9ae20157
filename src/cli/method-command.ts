import { join } from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../errors/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

const IDENTITY = /^([^/]+)(?:\/([^/]+))?$/;

/**
 * `outpost method invoke`: the operator as the local cloud calls a direct method on a device or
 * module of this edge device through the running hub (its control socket). Prints IoT Hub's answer
 * as JSON: `{status, payload}` from the target, or `{errorCode, message}` from the hub. Exit codes:
 * 0 the target answered with a 2xx status; 1 anything else (the hub's 400/404/413/504, the target's
 * own non-2xx status, no hub); 2 usage.
 */
export function methodCommand(program: Command, setExit: (code: number) => void): void {
  const method = program
    .command('method')
    .description('call direct methods on devices and modules (asks the running hub)')
    .addHelpText('after', `\nExamples:\n  outpost method invoke dev1 reboot --payload '{"delay": 5}'\n  outpost method invoke edge-1/filter getStats --timeout 10`);

  const invoke = method
    .command('invoke')
    .description('call a direct method and print the answer as JSON: {"status": n, "payload": …} (status is the method\'s own)')
    .argument('<identity>', 'deviceId or deviceId/moduleId')
    .argument('<methodName>', 'the method to call')
    .option('--payload <json>', 'the request payload, any JSON value', 'null')
    .option('--timeout <seconds>', 'responseTimeoutInSeconds: how long to wait for the answer, 5 to 300', '30')
    .addHelpText(
      'after',
      `\nExamples:\n  outpost method invoke dev1 reboot --payload '{"delay": 5}'\n  outpost method invoke edge-1/filter setThreshold --payload 42 --timeout 5\n  outpost method invoke edge-1/filter getStats | jq .payload\n\nA target that is not connected (or not listening for methods) answers 404 at once; one that does\nnot answer within --timeout, 504. Exit status 0 only when the method answered with a 2xx status.`,
    )
    .exitOverride();
  addConfigOptions(invoke);
  invoke.action(async (identity: string, methodName: string) => {
    const opts = invoke.opts<{ payload: string; timeout: string }>();
    setExit(await run(invoke, identity, methodName, opts.payload, opts.timeout));
  });
}

async function run(command: Command, identity: string, methodName: string, payloadText: string, timeoutText: string): Promise<number> {
  const match = IDENTITY.exec(identity);
  if (match === null) return reportCliError(new OutpostError('OUTPOST_CLI_USAGE', `identity ${JSON.stringify(identity)} is not deviceId or deviceId/moduleId`));
  let payload: unknown;
  try {
    payload = JSON.parse(payloadText);
  } catch (cause) {
    return reportCliError(new OutpostError('OUTPOST_CLI_USAGE', `--payload is not valid JSON: ${(cause as Error).message}`, { cause }));
  }
  // The hub checks the range (5–300 s) and answers 400 as IoT Hub does; here only a number is needed.
  const timeoutSec = Number(timeoutText);
  if (timeoutText.trim() === '' || !Number.isFinite(timeoutSec)) return reportCliError(new OutpostError('OUTPOST_CLI_USAGE', `--timeout ${JSON.stringify(timeoutText)} is not a number of seconds`));
  const config = loadCliConfig(command);
  if (!config.ok) return reportCliError(config.error);
  const [, deviceId, moduleId] = match;
  const path = `/v1/methods/${encodeURIComponent(deviceId!)}${moduleId === undefined ? '' : `/modules/${encodeURIComponent(moduleId)}`}`;
  const client = new HubControlClient(join(config.loaded.config.dataDir, HUB_CONTROL_SOCKET));
  try {
    const answer = await client.call('POST', path, JSON.stringify({ methodName, payload, responseTimeoutInSeconds: timeoutSec }));
    process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
    const body = answer.body as { status?: unknown; message?: unknown; code?: unknown };
    if (answer.status !== 200) {
      process.stderr.write(`outpost: ${answer.status} ${typeof body.message === 'string' ? body.message : 'the hub refused the call'} [${typeof body.code === 'string' ? body.code : 'OUTPOST_INTERNAL'}]\n`);
      return 1;
    }
    return typeof body.status === 'number' && body.status >= 200 && body.status < 300 ? 0 : 1;
  } catch (error) {
    return reportCliError(error);
  }
}
