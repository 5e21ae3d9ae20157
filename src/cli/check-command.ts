import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigSchema, describeOrigin, leaves, type ConfigProblem } from '../config/index.js';
import { runChecks, type CheckReport, type CheckResult, type LoadedOrProblems } from '../support/index.js';
import { VERSION } from '../version.js';
import { addConfigOptions } from './config-options.js';
import { loadCliConfig } from './load-cli-config.js';

/** Exit status of `outpost check` (docs/operations.md). */
export const CheckExit = { Ok: 0, Failed: 2 } as const;

/**
 * `outpost check`: validates the configuration and the deployment manifest (the validation
 * `outpost deploy` applies), then certificates, the hub's ports, the data-directory lock, the
 * container engine, disk space, the clock and the upstream link, each pass/warn/fail/skip with a
 * hint. Exit 0 when nothing failed, 2 when a check failed (or warned, with --warnings-as-errors).
 */
export function checkCommand(program: Command, setExit: (code: number) => void): void {
  const command = program.command('check').description('check the configuration, the deployment and this machine as `iotedge check` does; print every problem');
  addConfigOptions(command);
  command.addOption(new Option('--print', 'print each effective configuration value and where it came from'));
  command.addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'));
  command.addOption(new Option('--warnings-as-errors', 'exit 2 when a check warns, as when one fails'));
  command.action(async () => setExit(await check(command)));
}

async function check(command: Command): Promise<number> {
  const opts = command.opts<{ print?: boolean; output: 'text' | 'json'; warningsAsErrors?: boolean; deployment?: string }>();
  const loaded = loadCliConfig(command);
  const config: LoadedOrProblems = loaded.ok
    ? { ok: true, loaded: loaded.loaded }
    : { ok: false, message: loaded.message, problems: (loaded.error.details?.problems as ConfigProblem[] | undefined) ?? [] };
  const report = await runChecks({ config, ...(typeof opts.deployment === 'string' ? { deploymentFile: opts.deployment } : {}) });
  const failed = report.counts.fail > 0 || (opts.warningsAsErrors === true && report.counts.warn > 0);
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ outpost: VERSION, checkedAt: new Date().toISOString(), result: report.result, counts: report.counts, checks: report.checks }, null, 2)}\n`);
  } else {
    const printed = opts.print === true && loaded.ok ? effectiveValues(loaded.loaded) : [];
    writeText(report, printed);
  }
  return failed ? CheckExit.Failed : CheckExit.Ok;
}

/** Passes, warnings and skips on stdout; failures on stderr, so `2>/dev/null` shows what is fine. */
function writeText(report: CheckReport, printed: readonly string[]): void {
  const out: string[] = [];
  const err: string[] = [];
  for (const [index, result] of report.checks.entries()) {
    const lines = [`[${result.status.toUpperCase()}] ${result.title}: ${result.message}`];
    for (const detail of result.details ?? []) lines.push(...detail.split('\n').map((line) => `  ${line}`));
    if (result.hint !== undefined) lines.push(`  hint: ${result.hint}`);
    (result.status === 'fail' ? err : out).push(...lines);
    if (index === 0) out.push(...printed);
  }
  const { pass, warn, fail, skip } = report.counts;
  out.push(`${report.checks.length} checks: ${pass} passed, ${warn} warned, ${fail} failed, ${skip} skipped`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (err.length > 0) process.stderr.write(`${err.join('\n')}\n`);
}

function effectiveValues(loaded: Extract<ReturnType<typeof loadCliConfig>, { ok: true }>['loaded']): string[] {
  const { config, origins } = loaded;
  return leaves(ConfigSchema).map((leaf) => {
    const value = leaf.segments.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
    return `  ${leaf.path} = ${JSON.stringify(value)}  (${describeOrigin(origins.get(leaf.path) ?? { source: 'default', origin: 'default' })})`;
  });
}

export type { CheckResult };
