import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { agentDirOf, ControlClient, controlSocketOf, type ReportedProperties } from '../agent/index.js';
import { isOutpostError, OutpostError } from '../errors/index.js';
import { addConfigOptions } from './config-options.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost list [--json]`: the modules of the running agent (its control socket under
 * <dataDir>/agent) with their runtime status, as `iotedge list` shows them. Without a running
 * agent it prints the last reported state from <dataDir>/agent/reported.json and exits 1.
 */
export function listCommand(program: Command, setExit: (code: number) => void): void {
  const command = program.command('list').description('list the deployed modules and their status (asks the running agent)').option('--json', 'print the $edgeAgent reported properties as JSON');
  addConfigOptions(command);
  command.action(async () => setExit(await list(command)));
}

/** The control client for the agent of the configured data directory (shared by the agent commands). */
export function agentClientFor(command: Command): { client: ControlClient; agentDir: string } | OutpostError {
  const result = loadCliConfig(command);
  if (!result.ok) return result.error;
  return { client: new ControlClient(controlSocketOf(result.loaded.config)), agentDir: agentDirOf(result.loaded.config) };
}

/** Prints an error for the operator and returns the exit code (2 usage/config, 1 otherwise). */
export function reportCliError(error: unknown): number {
  if (!isOutpostError(error)) throw error;
  process.stderr.write(`outpost: ${error.message} [${error.code}]\n`);
  return error.kind === 'config' ? 2 : 1;
}

async function list(command: Command): Promise<number> {
  const target = agentClientFor(command);
  if (target instanceof OutpostError) return reportCliError(target);
  let reported: ReportedProperties;
  let exitCode = 0;
  try {
    const answer = await target.client.call('GET', '/v1/status');
    reported = answer.body as ReportedProperties;
  } catch (error) {
    if (!isOutpostError(error) || error.code !== 'OUTPOST_AGENT_NOT_RUNNING') return reportCliError(error);
    const file = join(target.agentDir, 'reported.json');
    try {
      reported = JSON.parse(readFileSync(file, 'utf8')) as ReportedProperties;
    } catch {
      return reportCliError(error);
    }
    process.stderr.write(`outpost: no agent is running; the last reported state (${file}) follows [OUTPOST_AGENT_NOT_RUNNING]\n`);
    exitCode = 1;
  }
  if (command.opts().json === true) process.stdout.write(`${JSON.stringify(reported, null, 2)}\n`);
  else process.stdout.write(formatTable(reported));
  return exitCode;
}

function formatTable(reported: ReportedProperties): string {
  const status = (reported.lastDesiredStatus ?? {}) as { code?: number; description?: string };
  const rows: string[][] = [['NAME', 'STATUS', 'RESTARTS', 'DESCRIPTION']];
  const system = (reported.systemModules ?? {}) as Record<string, Record<string, unknown>>;
  for (const [id, m] of Object.entries(system)) rows.push([id, String(m.runtimeStatus ?? ''), '', '']);
  for (const [id, m] of Object.entries(reported.modules ?? {})) {
    rows.push([id, String(m.runtimeStatus ?? ''), String(m.restartCount ?? 0), String(m.statusDescription ?? '')]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  const head = `deployment: version ${String(reported.lastDesiredVersion ?? '?')}, status ${status.code ?? '?'}${status.description ? ` (${status.description})` : ''}`;
  return `${head}\n${lines.join('\n')}\n`;
}
