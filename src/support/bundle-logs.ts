import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { ControlClient, controlSocketOf, LogWindowFilter, processLogFileOf, type LogWindow } from '../agent/index.js';
import type { OutpostConfig } from '../config/index.js';

/** Largest log kept per source: a bundle is mailed around; the newest output matters most. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

export interface CollectedLog {
  readonly text: string;
  /** Where it came from (the agent, a file, the journal), for the bundle's index. */
  readonly source: string;
}

/**
 * A module's output within the window: from the running agent (which asks the engine for a
 * container, or reads a process module's file), else the process module's log file directly.
 */
export async function moduleLog(config: OutpostConfig, id: string, window: LogWindow, agentRunning: boolean): Promise<CollectedLog | string> {
  if (agentRunning) {
    try {
      const query = [...(window.sinceMs === undefined ? [] : [`since=${window.sinceMs}`]), ...(window.untilMs === undefined ? [] : [`until=${window.untilMs}`])].join('&');
      const response = await new ControlClient(controlSocketOf(config)).open('GET', `/v1/modules/${encodeURIComponent(id)}/logs?tail=all${query === '' ? '' : `&${query}`}`);
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      if (response.statusCode === 200) return { text: tailBytes(Buffer.concat(chunks)), source: 'the running agent' };
    } catch {
      // fall through to the file
    }
  }
  const file = processLogFileOf(config, id);
  const files = [`${file}.1`, file].filter((f) => existsSync(f));
  if (files.length === 0) return config.agent.runtime === 'docker' ? 'a container module: its log is kept by the engine, and the agent is not running to ask it' : `no log file ${file}`;
  return { text: await readWindow(files, window), source: files.join(', ') };
}

/** Log files the operator names (where the service's standard output goes), within the window. */
export async function fileLog(file: string, window: LogWindow): Promise<CollectedLog | string> {
  if (!existsSync(file)) return `no such file ${file}`;
  return { text: await readWindow([file], window), source: file };
}

/**
 * The hub's and agent's own log under systemd: `journalctl -u <unit>`, the lines as written
 * (`-o cat`: pino's JSON), within the window. A machine without journalctl or without the unit
 * says so in the bundle's index instead.
 */
export function journalLog(unit: string, window: LogWindow): CollectedLog | string {
  const args = ['-u', unit, '-o', 'cat', '--no-pager', ...(window.sinceMs === undefined ? [] : ['--since', `@${Math.floor(window.sinceMs / 1000)}`]), ...(window.untilMs === undefined ? [] : ['--until', `@${Math.ceil(window.untilMs / 1000)}`])];
  const result = spawnSync('journalctl', args, { encoding: 'utf8', maxBuffer: 4 * MAX_LOG_BYTES, timeout: 60_000 });
  if (result.error !== undefined) return `journalctl is not available (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`;
  if (result.status !== 0) return `journalctl -u ${unit} failed: ${result.stderr.trim().slice(0, 300)}`;
  if (result.stdout.trim() === '' || result.stdout.trim() === '-- No entries --') return `no journal entries for the unit ${unit} in the window`;
  return { text: tailBytes(Buffer.from(result.stdout)), source: `journalctl -u ${unit}` };
}

async function readWindow(files: readonly string[], window: LogWindow): Promise<string> {
  const chunks: Buffer[] = [];
  for (const file of files) {
    for await (const chunk of Readable.from(createReadStream(file)).pipe(new LogWindowFilter(window))) chunks.push(chunk as Buffer);
  }
  return tailBytes(Buffer.concat(chunks));
}

function tailBytes(data: Buffer): string {
  if (data.length <= MAX_LOG_BYTES) return data.toString('utf8');
  const cut = data.indexOf(0x0a, data.length - MAX_LOG_BYTES);
  return `[… ${cut + 1} earlier bytes left out …]\n${data.subarray(cut + 1).toString('utf8')}`;
}
