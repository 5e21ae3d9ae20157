import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { OutpostError } from '../errors/index.js';
import { configArgs } from './config-options.js';

/** `reload` loads again from the same sources (a running hub watching its config file). */
export type CliConfigResult = { ok: true; loaded: LoadedConfig; reload: () => LoadedConfig } | { ok: false; message: string; error: OutpostError };

/** Loads configuration for a command from its flags, the environment and the config file. */
export function loadCliConfig(command: Command): CliConfigResult {
  const args = configArgs(command);
  if (args.problems.length > 0) {
    const error = new OutpostError('OUTPOST_CLI_USAGE', args.problems.join('\n'));
    return { ok: false, message: error.message, error };
  }
  try {
    const load = () => loadConfig({ env: process.env, flags: args.flags, configFile: args.configFile });
    return { ok: true, loaded: load(), reload: load };
  } catch (error) {
    if (error instanceof OutpostError) return { ok: false, message: error.message, error };
    throw error;
  }
}
