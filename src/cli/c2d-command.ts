import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseDurationMs } from '../config/index.js';
import { OutpostError } from '../errors/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost c2d send|list`: cloud-to-device messages, the operator as the local cloud. Both ask the
 * running hub (its control socket <dataDir>/hub.sock) and print JSON. Exit codes: 0 done; 1
 * refused (the status and reason on stderr: 400 invalid, 403 queue full, 404 unknown device, 413
 * too large) or no hub; 2 usage.
 */
export function c2dCommand(program: Command, setExit: (code: number) => void): void {
  const c2d = program
    .command('c2d')
    .description('send cloud-to-device messages to devices and list what is queued for them (asks the running hub)')
    .addHelpText('after', `\nExamples:\n  outpost c2d send dev1 --body '{"led": "on"}' --content-type application/json\n  outpost c2d send dev1 --file firmware.bin --property kind=firmware --ttl 2h\n  outpost c2d list dev1`);

  const send = c2d
    .command('send')
    .description('queue a message for a device (kept while it is offline, until its TTL); prints {"status": 202, "deviceId", "messageId", "queued", "expiryTimeUtc"}')
    .argument('<deviceId>', 'the device (C2D goes to devices, not modules)')
    .option('--body <text>', 'the body, as UTF-8 text')
    .option('--file <file>', "a file holding the body, sent as is ('-' reads standard input)")
    .option('--property <key=value>', 'an application property (repeatable)', (value: string, all: string[] = []) => [...all, value])
    .option('--message-id <id>', 'the message id (default: a new UUID)')
    .option('--correlation-id <id>', 'the correlation id')
    .option('--content-type <type>', 'the content type, for example application/json')
    .option('--content-encoding <encoding>', 'the content encoding, for example utf-8')
    .option('--ttl <duration>', 'time to live, for example 30s, 10m, 2h (default 1h, at most 2d)')
    .addHelpText(
      'after',
      `\nExamples:\n  outpost c2d send dev1 --body 'reboot' --property urgency=high --message-id m-1\n  outpost c2d send dev1 --body '{"led": "on"}' --content-type application/json --content-encoding utf-8\n  cat config.json | outpost c2d send dev1 --file - --ttl 10m`,
    )
    .exitOverride();
  addConfigOptions(send);
  send.action(async (deviceId: string) => {
    const request = sendRequest(send.opts());
    if (request instanceof OutpostError) return setExit(usageError(request));
    setExit(await call(send, 'POST', deviceId, JSON.stringify(request)));
  });

  const list = c2d
    .command('list')
    .description('print the messages queued for a device, oldest first: {"deviceId", "queued", "messages": [{messageId, enqueuedTimeUtc, expiryTimeUtc, bodyBytes, properties, deliveries, inflight}]}')
    .argument('<deviceId>', 'the device')
    .addHelpText('after', `\nExamples:\n  outpost c2d list dev1\n  outpost c2d list dev1 | jq .queued`)
    .exitOverride();
  addConfigOptions(list);
  list.action(async (deviceId: string) => setExit(await call(list, 'GET', deviceId, undefined)));
}

/** Usage errors exit 2, like commander's own (a refusal by the hub exits 1). */
const USAGE_EXIT = 2;

function usageError(error: OutpostError): number {
  reportCliError(error);
  return USAGE_EXIT;
}

interface SendOptions {
  body?: string;
  file?: string;
  property?: string[];
  messageId?: string;
  correlationId?: string;
  contentType?: string;
  contentEncoding?: string;
  ttl?: string;
}

function sendRequest(opts: SendOptions): Record<string, unknown> | OutpostError {
  if ((opts.body === undefined) === (opts.file === undefined)) return new OutpostError('OUTPOST_CLI_USAGE', 'give the body with exactly one of --body <text> or --file <file>');
  const request: Record<string, unknown> = {};
  if (opts.body !== undefined) request.body = opts.body;
  else {
    try {
      request.bodyBase64 = readFileSync(opts.file === '-' ? 0 : opts.file!).toString('base64');
    } catch (cause) {
      return new OutpostError('OUTPOST_CLI_USAGE', `cannot read ${opts.file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
    }
  }
  const properties: Record<string, string> = {};
  for (const pair of opts.property ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) return new OutpostError('OUTPOST_CLI_USAGE', `--property ${JSON.stringify(pair)} is not key=value`);
    Object.defineProperty(properties, pair.slice(0, at), { value: pair.slice(at + 1), enumerable: true, writable: true, configurable: true });
  }
  if (Object.keys(properties).length > 0) request.properties = properties;
  if (opts.messageId !== undefined) request.messageId = opts.messageId;
  if (opts.correlationId !== undefined) request.correlationId = opts.correlationId;
  if (opts.contentType !== undefined) request.contentType = opts.contentType;
  if (opts.contentEncoding !== undefined) request.contentEncoding = opts.contentEncoding;
  if (opts.ttl !== undefined) {
    const ttlMs = parseDurationMs(opts.ttl);
    if (ttlMs === undefined || ttlMs < 1000 || ttlMs % 1000 !== 0) return new OutpostError('OUTPOST_CLI_USAGE', `--ttl ${JSON.stringify(opts.ttl)} is not a whole number of seconds (for example 30s, 10m, 2h)`);
    request.ttlSec = ttlMs / 1000;
  }
  return request;
}

async function call(command: Command, method: 'GET' | 'POST', deviceId: string, body: string | undefined): Promise<number> {
  const config = loadCliConfig(command);
  if (!config.ok) return reportCliError(config.error);
  const client = new HubControlClient(join(config.loaded.config.dataDir, HUB_CONTROL_SOCKET));
  try {
    const answer = await client.call(method, `/v1/devices/${encodeURIComponent(deviceId)}/messages/devicebound`, body);
    if (answer.status >= 200 && answer.status < 300) {
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
