import type { Command } from 'commander';
import { isOutpostError, toOutpostError } from '../errors/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { Runtime } from '../main.js';
import { addConfigOptions } from './config-options.js';
import { loadCliConfig } from './load-cli-config.js';

/** Time after the shutdown deadline at which a stuck process exits anyway. */
const HARD_EXIT_GRACE_MS = 5_000;
/** Conventional exit status for a second Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

export function serveCommand(
  program: Command,
  name: string,
  description: string,
  components: { hub: boolean; agent: boolean },
  setExit: (code: number) => void,
): void {
  const command = program.command(name).description(description);
  addConfigOptions(command).action(async () => {
    setExit(await serve(command, components));
  });
}

async function serve(command: Command, components: { hub: boolean; agent: boolean }): Promise<number> {
  const result = loadCliConfig(command);
  if (!result.ok) {
    process.stderr.write(`outpost: ${result.message}\n`);
    return 2;
  }
  const { config, warnings, configFile } = result.loaded;
  const logger = createLogger({ level: config.logLevel });
  for (const warning of warnings) logger.warn({ event: 'config.warning' }, warning);

  const onFatal = (error: unknown) => {
    logger.fatal({ event: 'runtime.fatal', err: error }, 'unexpected error; exiting');
    process.exit(1);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  // Signal handlers go in before anything starts: a stop requested during start-up is honoured
  // as soon as the components are up, instead of killing the process half-initialised.
  let stopRequested: NodeJS.Signals | undefined;
  let startedRuntime: Runtime | undefined;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  const beginStop = (runtime: Runtime, signal: NodeJS.Signals) => {
    // If graceful shutdown itself hangs, leave anyway: supervisors expect a bounded stop.
    setTimeout(() => {
      logger.error({ event: 'runtime.shutdown_hung', code: 'OUTPOST_SHUTDOWN_TIMEOUT' }, 'shutdown did not complete; exiting');
      process.exit(1);
    }, config.shutdownTimeout + HARD_EXIT_GRACE_MS).unref();
    runtime.stop(signal).then(
      () => resolveStopped(0),
      (error: unknown) => {
        logger.error({ event: 'runtime.stop_failed', err: error }, 'error during shutdown');
        resolveStopped(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested !== undefined) {
      logger.warn({ event: 'runtime.interrupted', signal }, 'second signal: exiting at once');
      process.exit(EXIT_INTERRUPTED);
    }
    stopRequested = signal;
    if (startedRuntime !== undefined) beginStop(startedRuntime, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logger.info({ event: 'runtime.starting', command: command.name(), configFile, dataDir: config.dataDir }, 'starting');

  try {
    startedRuntime = await Runtime.start({ config, logger, ...components, configSource: { file: configFile, load: result.reload } });
  } catch (error) {
    reportStartFailure(logger, error);
    return isOutpostError(error) && error.kind === 'config' ? 2 : 1;
  }
  if (stopRequested !== undefined) beginStop(startedRuntime, stopRequested);
  // A hub run alone with a config file also reloads it on SIGHUP (the file is watched anyway).
  const runtime = startedRuntime;
  if (runtime.watchesConfig) process.on('SIGHUP', () => runtime.reloadConfig());
  return stopped;
}

function reportStartFailure(logger: Logger, error: unknown): void {
  const outpostError = toOutpostError(error);
  logger.error({ event: 'runtime.start_failed', code: outpostError.code, details: outpostError.details, err: outpostError.cause ?? outpostError }, outpostError.message);
  process.stderr.write(`outpost: cannot start: ${outpostError.message} [${outpostError.code}]\n`);
}
