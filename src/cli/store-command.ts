import type { Command } from 'commander';
import { OutpostError } from '../errors/index.js';
import { join, resolve } from 'node:path';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';
import { backupDataDir, inspectStore, restoreDataDir, type DispatcherDescription, type StoreStats } from '../hub/store/index.js';
import { VERSION } from '../version.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost store stats [--json]`: what the message store holds — queue length, bytes and oldest
 * message per endpoint, per-shard figures and disk use — read from store.dir, with or without a
 * running hub (each shard's RocksDB is opened read-only, which takes no lock).
 * `outpost store delivery [--json]`: how each endpoint's delivery stands now, asked of the running
 * hub over its control socket (MessageStore.deliveryState): what waits and is in flight, whether it
 * backs off after a failure, senders held (an `$upstream` identity refused) and entries parked.
 * `outpost store backup <dir>` / `restore <dir>`: a copy of the stopped data directory, and back
 * into an empty one (data-dir-backup.ts, docs/operations.md).
 */
export function storeCommand(program: Command, setExit: (code: number) => void): void {
  const store = program.command('store').description('inspect the message store (store-and-forward queues)');
  const stats = store
    .command('stats')
    .description('queue length and oldest message per endpoint, per-shard figures and disk use')
    .option('--json', 'print JSON')
    .exitOverride();
  addConfigOptions(stats);
  stats.action(async () => setExit(await printStats(stats)));

  const delivery = store
    .command('delivery')
    .description("each endpoint's delivery now, from the running hub: messages waiting and in flight, whether it is backing off, senders held")
    .option('--json', 'print JSON (every queue of every shard)')
    .exitOverride();
  addConfigOptions(delivery);
  delivery.action(async () => setExit(await printDelivery(delivery)));

  const backup = store
    .command('backup')
    .description('copy the data directory (store, broker state, identities, certificates, agent state) of a stopped Outpost into <dir>')
    .argument('<dir>', 'an empty or new folder for the backup')
    .exitOverride();
  addConfigOptions(backup);
  backup.action(async (dir: string) => setExit(await runCopy(backup, 'backup', resolve(dir))));

  const restore = store
    .command('restore')
    .description('copy a backup made by `outpost store backup` into an empty data directory')
    .argument('<dir>', 'the backup folder')
    .exitOverride();
  addConfigOptions(restore);
  restore.action(async (dir: string) => setExit(await runCopy(restore, 'restore', resolve(dir))));
}

async function runCopy(command: Command, action: 'backup' | 'restore', dir: string): Promise<number> {
  const loaded = loadCliConfig(command);
  if (!loaded.ok) {
    process.stderr.write(`error: ${loaded.message}\n`);
    return 2;
  }
  const { config } = loaded.loaded;
  const paths = { dataDir: config.dataDir, storeDir: config.store.dir };
  try {
    if (action === 'backup') {
      const manifest = await backupDataDir(paths, dir, VERSION);
      process.stdout.write(`backed up ${manifest.dataDir} into ${dir}\n`);
    } else {
      const manifest = await restoreDataDir(dir, paths);
      process.stdout.write(`restored the backup of ${manifest.dataDir} (${manifest.createdAt}, Outpost ${manifest.outpostVersion}) into ${paths.dataDir}\n`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof OutpostError)) throw error;
    process.stderr.write(`error: ${error.code}: ${error.message}\n`);
    return error.kind === 'client' || error.kind === 'config' ? 2 : 1;
  }
}

async function printStats(command: Command): Promise<number> {
  const loaded = loadCliConfig(command);
  if (!loaded.ok) {
    process.stderr.write(`error: ${loaded.message}\n`);
    return 2;
  }
  const { config } = loaded.loaded;
  if (!config.store.persistent) {
    process.stderr.write('error: store.persistent is false: the queues live in the memory of the running hub only\n');
    return 2;
  }
  try {
    const stats = await inspectStore(config.store.dir);
    process.stdout.write(command.opts<{ json?: boolean }>().json === true ? `${JSON.stringify(stats, null, 2)}\n` : render(stats));
    return 0;
  } catch (error) {
    if (!(error instanceof OutpostError)) throw error;
    process.stderr.write(`error: ${error.code}: ${error.message}\n`);
    return error.kind === 'client' || error.kind === 'config' ? 2 : 1;
  }
}

async function printDelivery(command: Command): Promise<number> {
  const loaded = loadCliConfig(command);
  if (!loaded.ok) {
    process.stderr.write(`error: ${loaded.message}\n`);
    return 2;
  }
  const client = new HubControlClient(join(loaded.loaded.config.dataDir, HUB_CONTROL_SOCKET));
  try {
    const answer = await client.call('GET', '/v1/delivery');
    if (answer.status !== 200) {
      // As the other commands on the control socket say a refusal (twin, c2d, list).
      const error = answer.body as { code?: string; message?: string };
      process.stderr.write(`outpost: ${answer.status} ${error.message ?? JSON.stringify(answer.body)} [${error.code ?? 'OUTPOST_INTERNAL'}]\n`);
      return 1;
    }
    const state = answer.body as DispatcherDescription[];
    process.stdout.write(command.opts<{ json?: boolean }>().json === true ? `${JSON.stringify(state, null, 2)}\n` : renderDelivery(state));
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}

function renderDelivery(state: readonly DispatcherDescription[]): string {
  if (state.length === 0) return '(no endpoint has had a message since the hub started)\n';
  // WAITING: stored and not yet acknowledged (in flight included), over every shard and priority.
  const sum = (d: DispatcherDescription, of: (s: DispatcherDescription['streams'][number]) => number) => d.streams.reduce((total, s) => total + of(s), 0);
  const rows = [...state]
    .sort((a, b) => a.endpoint.localeCompare(b.endpoint))
    .map((d) => [d.endpoint, String(sum(d, (s) => s.tail - s.doneUpTo)), String(d.inflight), d.retrying ? 'yes' : 'no', String(d.heldSources), String(sum(d, (s) => s.parked))]);
  return `${table(['ENDPOINT', 'WAITING', 'IN FLIGHT', 'BACKING OFF', 'HELD SENDERS', 'PARKED'], rows).join('\n')}\n`;
}

function render(stats: StoreStats): string {
  const lines = [
    `store: ${stats.dir ?? '(memory)'} (${stats.shards.length} shard${stats.shards.length === 1 ? '' : 's'})`,
    `queued: ${stats.totals.queued} message${stats.totals.queued === 1 ? '' : 's'}, ${bytes(stats.totals.bytes)}; disk: ${bytes(stats.totals.diskBytes)}`,
    '',
  ];
  // A PRIORITIES column only when some route has a priority: `0:12 5:300 default:40`.
  const prioritized = stats.endpoints.some((e) => e.priorities.some((p) => p.priority !== 'default'));
  const priorities = (e: StoreStats['endpoints'][number]) => e.priorities.map((p) => `${p.priority}:${p.queued}`).join(' ');
  lines.push(
    ...table(
      ['ENDPOINT', 'QUEUED', 'BYTES', 'OLDEST', ...(prioritized ? ['PRIORITIES'] : [])],
      stats.endpoints.map((e) => [e.endpoint, String(e.queued), bytes(e.bytes), e.oldestAgeMs === undefined ? '-' : age(e.oldestAgeMs), ...(prioritized ? [priorities(e)] : [])]),
    ),
  );
  if (stats.endpoints.length === 0) lines.push('(no endpoint queues yet)');
  lines.push('');
  lines.push(...table(['SHARD', 'QUEUED', 'BYTES', 'DISK'], stats.shards.map((s) => [String(s.shard), String(s.queued), bytes(s.bytes), bytes(s.diskBytes)])));
  return `${lines.join('\n')}\n`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

function bytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${count} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function age(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
}
