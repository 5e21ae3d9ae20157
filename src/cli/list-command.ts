import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { agentDirOf, ControlClient, controlSocketOf, type ReportedProperties } from '../agent/index.js';
import { isOutpostError, OutpostError } from '../errors/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';
import { getJson, type HubStatus } from '../support/index.js';
import { addConfigOptions } from './config-options.js';
import { loadCliConfig } from './load-cli-config.js';

/** The hub answers its control socket at once; this bounds a hung one. */
const HUB_STATUS_TIMEOUT_MS = 3_000;

/**
 * `outpost list [--json]`: the modules of the running agent (its control socket under
 * <dataDir>/agent) with their runtime status, as `iotedge list` shows them. Without a running
 * agent it prints the last reported state from <dataDir>/agent/reported.json and exits 1.
 */
export function listCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('list')
    .description('list the deployed modules and their status (asks the running agent, or with --device the hub for an edge device below)')
    .option('--json', 'print the $edgeAgent reported properties as JSON')
    .option('--device <deviceId>', "an edge device below this hub: its $edgeAgent reported properties from the twin here");
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
  const device = command.opts<{ device?: string }>().device;
  if (device !== undefined) return listBelow(command, device);
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
  else {
    const loaded = loadCliConfig(command);
    const hub = loaded.ok ? ((await getJson(join(loaded.loaded.config.dataDir, HUB_CONTROL_SOCKET), '/v1/status', HUB_STATUS_TIMEOUT_MS)) as HubStatus | undefined) : undefined;
    process.stdout.write(formatTable(reported, hub, Date.now()));
  }
  return exitCode;
}

/** `outpost list --device <child>`: the child's $edgeAgent reported properties, as its twin here holds them. */
async function listBelow(command: Command, deviceId: string): Promise<number> {
  const loaded = loadCliConfig(command);
  if (!loaded.ok) return reportCliError(loaded.error);
  const client = new HubControlClient(join(loaded.loaded.config.dataDir, HUB_CONTROL_SOCKET));
  try {
    const answer = await client.call('GET', `/v1/twins/${encodeURIComponent(deviceId)}/modules/${encodeURIComponent('$edgeAgent')}`);
    if (answer.status !== 200) {
      const error = answer.body as { code?: string; message?: string };
      process.stderr.write(`outpost: ${answer.status} ${error.message ?? JSON.stringify(answer.body)} [${error.code ?? 'OUTPOST_INTERNAL'}]\n`);
      return 1;
    }
    const twin = answer.body as { properties: { desired: Record<string, unknown>; reported: Record<string, unknown> } };
    const reported = { ...twin.properties.reported } as ReportedProperties;
    delete reported.$version;
    if (command.opts().json === true) process.stdout.write(`${JSON.stringify(reported, null, 2)}\n`);
    else process.stdout.write(`${deviceId}: desired version ${String(twin.properties.desired.$version)}\n${formatTable(reported, 'below', Date.now())}`);
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}

/**
 * Azure's `iotedge list` columns plus what an operator asks first: how long each module has been
 * up and what it runs. The hub is a row of its own (from its control socket), so a stopped hub
 * shows even though the agent reports only itself among the system modules.
 */
function formatTable(reported: ReportedProperties, hub: HubStatus | undefined | 'below', nowMs: number): string {
  const status = (reported.lastDesiredStatus ?? {}) as { code?: number; description?: string };
  const rows: string[][] = [['NAME', 'STATUS', 'RESTARTS', 'UPTIME', 'DESCRIPTION', 'IMAGE/COMMAND']];
  const system = (reported.systemModules ?? {}) as Record<string, Record<string, unknown>>;
  const version = ((reported.version ?? {}) as { version?: string }).version ?? '';
  for (const [id, m] of Object.entries(system)) rows.push([id, String(m.runtimeStatus ?? ''), '', uptimeOf(m, nowMs), '', `outpost ${version}`.trim()]);
  if (hub === 'below') {
    // A device below: its hub is known only by what its agent reports.
  } else if (hub !== undefined) {
    const ports = Object.entries(hub.ports).filter(([, port]) => port !== null).map(([name, port]) => `${name}:${String(port)}`).join(' ');
    rows.push(['edgeHub', 'running', '', formatUptime(nowMs - Date.parse(hub.startedAt)), `ports ${ports}`, `outpost ${hub.version} (pid ${hub.pid})`]);
  } else rows.push(['edgeHub', 'not running', '', '-', 'no hub answers on this data directory', '']);
  for (const [id, m] of Object.entries(reported.modules ?? {})) {
    rows.push([id, String(m.runtimeStatus ?? ''), String(m.restartCount ?? 0), uptimeOf(m, nowMs), String(m.statusDescription ?? ''), runsOf(m)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  const head = `deployment: version ${String(reported.lastDesiredVersion ?? '?')}, status ${status.code ?? '?'}${status.description ? ` (${status.description})` : ''}`;
  return `${head}\n${lines.join('\n')}\n`;
}

function uptimeOf(module: Record<string, unknown>, nowMs: number): string {
  const started = typeof module.lastStartTimeUtc === 'string' ? Date.parse(module.lastStartTimeUtc) : Number.NaN;
  if (module.runtimeStatus !== 'running' || Number.isNaN(started)) return '-';
  return formatUptime(nowMs - started);
}

/** 45s, 12m 5s, 3h 4m, 2d 5h: two units are enough to tell a fresh restart from a long run. */
export function formatUptime(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const units: [string, number][] = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = seconds;
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || (parts.length === 0 && size === 1)) parts.push(`${count}${name}`);
    if (parts.length === 2) break;
    if (parts.length === 1 && count === 0) break;
  }
  return parts.join(' ');
}

/** The image of a container module, or the command line of a process module. */
function runsOf(module: Record<string, unknown>): string {
  const settings = (module.settings ?? {}) as { image?: string; process?: { command?: string; args?: string[] } };
  if (settings.image !== undefined) return settings.image;
  if (settings.process?.command !== undefined) return [settings.process.command, ...(settings.process.args ?? [])].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return '';
}
