import { createReadStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { LogWindowFilter, parseTimeArg, processLogFileOf, type LogWindow } from '../agent/index.js';
import { isOutpostError, OutpostError } from '../errors/index.js';
import { addConfigOptions } from './config-options.js';
import { agentClientFor, reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost logs <module> [--follow] [--tail N] [--since T] [--until T]`: a module's output
 * (stdout and stderr), from the running agent. With --follow it streams until Ctrl-C. When the
 * agent is not running or no longer has the module, a process module's log file under the data
 * directory is read directly (it outlives the module and the agent).
 */
export function logsCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('logs')
    .description("print a module's output (asks the running agent; reads a process module's log file when the agent is not running)")
    .argument('<module>', 'module id')
    .option('-f, --follow', 'keep printing new output')
    .option('--tail <n>', 'only the last n lines (or "all")', 'all')
    .option('--since <time>', 'only output since then: a duration back from now ("30m", "2h", "1 day") or a time ("2026-12-01T10:00:00Z")')
    .option('--until <time>', 'only output until then (same forms as --since)');
  addConfigOptions(command);
  command.action(async (module: string) => setExit(await logs(command, module)));
}

interface LogsOptions {
  follow?: boolean;
  tail: string;
  since?: string;
  until?: string;
}

async function logs(command: Command, module: string): Promise<number> {
  const { follow, tail, since, until } = command.opts<LogsOptions>();
  if (tail !== 'all' && !/^\d+$/.test(tail)) return reportCliError(new OutpostError('OUTPOST_CLI_USAGE', `--tail must be a number of lines or "all", not ${JSON.stringify(tail)}`));
  const window = parseWindow(since, until);
  if (window instanceof OutpostError) {
    // A usage error (exit 2, as commander's own), whatever kind the code is registered with.
    reportCliError(window);
    return 2;
  }
  const target = agentClientFor(command);
  if (target instanceof OutpostError) return reportCliError(target);
  const query = [`tail=${tail}`, ...(follow === true ? ['follow=1'] : []), ...(window.sinceMs === undefined ? [] : [`since=${window.sinceMs}`]), ...(window.untilMs === undefined ? [] : [`until=${window.untilMs}`])].join('&');
  try {
    const response = await target.client.open('GET', `/v1/modules/${encodeURIComponent(module)}/logs?${query}`);
    if (response.statusCode !== 200) {
      let text = '';
      for await (const chunk of response) text += (chunk as Buffer).toString('utf8');
      const body = JSON.parse(text) as { code?: string; message?: string };
      if (body.code === 'OUTPOST_AGENT_MODULE_NOT_FOUND' && (await fromFile(command, module, tail, window, 'the agent has no such module'))) return 0;
      process.stderr.write(`outpost: ${body.message ?? text} [${body.code ?? response.statusCode}]\n`);
      return 1;
    }
    await pipeUntilInterrupted(response);
    return 0;
  } catch (error) {
    if (isOutpostError(error) && error.code === 'OUTPOST_AGENT_NOT_RUNNING' && (await fromFile(command, module, tail, window, 'no agent is running'))) return 0;
    return reportCliError(error);
  }
}

function parseWindow(since: string | undefined, until: string | undefined): LogWindow | OutpostError {
  const nowMs = Date.now();
  const window: { sinceMs?: number; untilMs?: number } = {};
  for (const [flag, text, key] of [['--since', since, 'sinceMs'], ['--until', until, 'untilMs']] as const) {
    if (text === undefined) continue;
    const ms = parseTimeArg(text, nowMs);
    if (ms === undefined) return new OutpostError('OUTPOST_CLI_USAGE', `${flag} takes a duration back from now ("30m", "2h", "1 day") or a time ("2026-12-01T10:00:00Z"), not ${JSON.stringify(text)}`);
    window[key] = ms;
  }
  return window;
}

/**
 * A process module's log file (and its rotated predecessor), read without the agent: the module
 * may be stopped, or the agent down. Returns false when there is no such file.
 */
async function fromFile(command: Command, module: string, tail: string, window: LogWindow, why: string): Promise<boolean> {
  const loaded = loadCliConfig(command);
  if (!loaded.ok) return false;
  const file = processLogFileOf(loaded.loaded.config, module);
  if (!existsSync(file)) return false;
  process.stderr.write(`outpost: ${why}; reading ${module}'s log file ${file}\n`);
  const files = [`${file}.1`, file].filter((f) => existsSync(f));
  const chunks: Buffer[] = [];
  for (const f of files) {
    const filtered = Readable.from(createReadStream(f)).pipe(new LogWindowFilter(window));
    for await (const chunk of filtered) chunks.push(chunk as Buffer);
  }
  let text = Buffer.concat(chunks).toString('utf8');
  if (tail !== 'all') {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const count = Number(tail);
    text = count === 0 || lines.length === 0 ? '' : `${lines.slice(-count).join('\n')}\n`;
  }
  process.stdout.write(text);
  return true;
}

async function pipeUntilInterrupted(response: AsyncIterable<unknown> & { destroy(): void }): Promise<void> {
  const stop = () => response.destroy();
  process.once('SIGINT', stop);
  try {
    for await (const chunk of response) process.stdout.write(chunk as Buffer);
  } catch {
    // destroyed by Ctrl-C
  } finally {
    process.off('SIGINT', stop);
  }
}
