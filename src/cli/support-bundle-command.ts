import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseTimeArg } from '../agent/index.js';
import { OutpostError } from '../errors/index.js';
import { buildSupportBundle } from '../support/index.js';
import { addConfigOptions } from './config-options.js';
import { reportCliError } from './list-command.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost support-bundle [--output FILE|-] [--since T] [--until T] [--journal-unit U]
 * [--log-file F]…`: one tar.gz for troubleshooting, every secret redacted (src/support). Prints
 * where it wrote the archive and what it could not collect; exit 0 written, 1 not, 2 usage.
 */
export function supportBundleCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('support-bundle')
    .description('write one tar.gz with logs, redacted configuration and deployment, status, metrics, store statistics and versions, for troubleshooting')
    .option('-o, --output <file>', 'archive to write, or "-" for standard output (default: outpost-support-<time>.tar.gz here)')
    .option('--since <time>', 'only log lines since then: a duration back from now ("1h", "1 day") or a time (ISO 8601)', '1 day')
    .option('--until <time>', 'only log lines until then (same forms as --since)')
    .option('--journal-unit <unit>', 'systemd unit whose journal holds the hub and agent log ("" to skip)', 'outpost')
    .option('--log-file <file>', 'a file holding the hub and agent log (their standard output), repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[]);
  addConfigOptions(command);
  command.action(async () => setExit(await supportBundle(command)));
}

interface BundleOptions {
  output?: string;
  since: string;
  until?: string;
  journalUnit: string;
  logFile: string[];
}

async function supportBundle(command: Command): Promise<number> {
  const opts = command.opts<BundleOptions>();
  const nowMs = Date.now();
  const sinceMs = parseTimeArg(opts.since, nowMs);
  const untilMs = opts.until === undefined ? undefined : parseTimeArg(opts.until, nowMs);
  if (sinceMs === undefined || (opts.until !== undefined && untilMs === undefined)) {
    reportCliError(new OutpostError('OUTPOST_CLI_USAGE', '--since and --until take a duration back from now ("1h", "1 day") or a time ("2026-12-01T10:00:00Z")'));
    return 2;
  }
  const loaded = loadCliConfig(command);
  if (!loaded.ok) return reportCliError(loaded.error);
  try {
    const { archive, index, root } = await buildSupportBundle({
      loaded: loaded.loaded,
      window: { sinceMs, ...(untilMs === undefined ? {} : { untilMs }) },
      journalUnit: opts.journalUnit === '' ? null : opts.journalUnit,
      logFiles: opts.logFile.map((file) => resolve(file)),
      nowMs,
    });
    if (opts.output === '-') process.stdout.write(archive);
    else {
      const file = resolve(opts.output ?? `${root}.tar.gz`);
      writeFileSync(file, archive, { mode: 0o600 });
      process.stdout.write(`wrote ${file} (${archive.length} bytes, ${index.files.length + 1} files, secrets redacted)\n`);
    }
    for (const { item, reason } of index.notCollected) process.stderr.write(`outpost: not in the bundle: ${item}: ${reason}\n`);
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}
