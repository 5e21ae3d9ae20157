import { Option, type Command } from 'commander';
import { ConfigSchema, envName, leaves, type FlagValue } from '../config/index.js';

/**
 * Command-line flags generated from the configuration schema: every leaf with a `flag` gets one,
 * named in its help with the matching environment variable, and `--set key=value` reaches any
 * other key. Flags are the highest-precedence source.
 */

const FLAGGED = leaves(ConfigSchema).filter((leaf) => leaf.options.flag !== undefined);

export function addConfigOptions(command: Command): Command {
  command.addOption(new Option('-c, --config <file>', 'configuration file, JSON or YAML (env OUTPOST_CONFIG)'));
  for (const leaf of FLAGGED) {
    const valueName = leaf.options.kind === 'int' ? 'n' : leaf.options.kind === 'enum' ? (leaf.options.values ?? []).join('|') : leaf.options.kind === 'path' ? 'path' : 'value';
    // A boolean flag is a switch: present means true.
    const spec = leaf.options.kind === 'bool' ? leaf.options.flag! : `${leaf.options.flag} <${valueName}>`;
    const option = new Option(spec, `${leaf.options.description} (env ${envName(leaf.segments)})`);
    command.addOption(option);
  }
  command.addOption(
    new Option('--set <key=value>', 'set any configuration key, e.g. --set mqtt.connectTimeout=30s (repeatable)').argParser(
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    ),
  );
  return command;
}

export interface ConfigArgs {
  readonly configFile: string | null;
  readonly flags: FlagValue[];
  readonly problems: string[];
}

/** Turns parsed options into loader input; --set comes first so named flags win over it. */
export function configArgs(command: Command): ConfigArgs {
  const opts = command.opts<Record<string, unknown>>();
  const flags: FlagValue[] = [];
  const problems: string[] = [];
  for (const entry of (opts.set as string[] | undefined) ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) problems.push(`--set ${entry}: expected key=value`);
    else flags.push({ flag: `--set ${entry.slice(0, eq)}`, path: entry.slice(0, eq).trim(), text: entry.slice(eq + 1) });
  }
  for (const leaf of FLAGGED) {
    const key = optionKey(leaf.options.flag!);
    const value = opts[key];
    if (typeof value === 'string') flags.push({ flag: leaf.options.flag!, path: leaf.path, text: value });
    else if (value === true) flags.push({ flag: leaf.options.flag!, path: leaf.path, text: 'true' });
  }
  return { configFile: typeof opts.config === 'string' ? opts.config : null, flags, problems };
}

/** Commander's attribute name for a long flag: --mqtt-plain-port → mqttPlainPort. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
