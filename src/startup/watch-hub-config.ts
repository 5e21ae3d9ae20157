import { deploymentFileOf } from '../agent/index.js';
import { ConfigWatcher, type LoadedConfig, type OutpostConfig } from '../config/index.js';
import type { OutpostError } from '../errors/index.js';
import { policyFromDeployment } from '../hub/auth/index.js';
import { storeRoutesFromDeployment, type StoreRoutes } from '../hub/store/index.js';
import type { Logger } from '../log/index.js';
import { readManifestHub } from './hub-sources.js';
import type { StartedHub } from './start-hub.js';

export interface ConfigSource {
  /** The configuration file, if there is one. */
  readonly file: string | null;
  /** Loads the configuration again from the same sources; throws OutpostError when invalid. */
  readonly load: () => LoadedConfig;
}

/**
 * A hub run alone follows its configuration file: new `routes` and `auth.policy` apply at once
 * (from the manifest again when a key is removed); an edit that does not load changes nothing.
 */
export function watchHubConfig(started: StartedHub, source: ConfigSource, file: string, config: OutpostConfig, logger: Logger): ConfigWatcher | undefined {
  const onChange = (next: OutpostConfig, changed: readonly string[]) => {
    const later = changed.filter((path) => path !== 'routes' && path !== 'auth.policy');
    if (later.length > 0) logger.warn({ event: 'config.restart_needed', file, keys: later }, 'these settings changed in the configuration file and take effect after a restart');
    let manifestHub: Readonly<Record<string, unknown>> | undefined;
    try {
      if ((changed.includes('routes') && next.routes === null) || (changed.includes('auth.policy') && next.auth.policy === null)) manifestHub = readManifestHub(next);
    } catch (error) {
      logger.error({ event: 'config.reload_rejected', code: (error as OutpostError).code, file, err: error }, 'the routes or policy fall back to the deployment manifest, which is invalid; nothing changed');
      return;
    }
    if (changed.includes('routes')) {
      const routes: StoreRoutes = next.routes !== null ? { routes: next.routes } : storeRoutesFromDeployment(manifestHub ?? {});
      started.store.replaceRoutes(routes).then(
        () => logger.info({ event: 'hub.routes_replaced', source: next.routes !== null ? 'configuration' : 'deployment', file }, 'routes replaced'),
        (error: unknown) => logger.error({ event: 'hub.routes_replace_failed', code: 'OUTPOST_INTERNAL', err: error }, 'cannot replace the routes'),
      );
    }
    if (changed.includes('auth.policy')) {
      started.policy.replace(next.auth.policy ?? policyFromDeployment(manifestHub ?? {}), next.auth.policy !== null ? `configuration ${file}` : `deployment ${deploymentFileOf(next)}`, started.mqtt);
    }
  };
  const onError = (error: OutpostError) =>
    logger.error(
      { event: 'config.reload_rejected', code: error.code, file, problems: error.details?.problems },
      'the edited configuration file is invalid; nothing changed (the routes and policy in force stay)',
    );
  try {
    const watcher = ConfigWatcher.watch({ file, load: source.load, current: config, onChange, onError });
    logger.info({ event: 'config.watching', file }, 'watching the configuration file for new routes and policy');
    return watcher;
  } catch (error) {
    logger.warn({ event: 'config.watch_failed', file, err: error }, 'cannot watch the configuration file; restart to apply changes');
    return undefined;
  }
}
