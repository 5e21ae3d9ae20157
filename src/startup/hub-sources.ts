import { deploymentFileOf, manifestError, readManifest } from '../agent/index.js';
import type { OutpostConfig } from '../config/index.js';
import { policyFromDeployment } from '../hub/auth/index.js';
import { storeRoutesFromDeployment, type StoreRoutes } from '../hub/store/index.js';
import type { Logger } from '../log/index.js';

/**
 * Where the hub's routes and broker policy come from (docs/routing.md, docs/security.md): the
 * `$edgeHub` part of the deployment manifest, except that a hub run alone takes `routes` and
 * `auth.policy` from its configuration when they are set there. The manifest is read only when
 * something still comes from it.
 */
export function hubSources(config: OutpostConfig, alone: boolean, logger: Logger): { routes: StoreRoutes; policy: unknown; manifestHub: Readonly<Record<string, unknown>> | undefined } {
  const configRoutes = alone ? config.routes : null;
  const configPolicy = alone ? config.auth.policy : null;
  if (!alone && (config.routes !== null || config.auth.policy !== null)) {
    logger.warn({ event: 'config.ignored_with_agent', keys: [...(config.routes !== null ? ['routes'] : []), ...(config.auth.policy !== null ? ['auth.policy'] : [])] }, 'routes and auth.policy of the configuration apply to `outpost hub` only; with the agent, the deployment decides');
  }
  const manifestHub = configRoutes === null || configPolicy === null ? readManifestHub(config) : undefined;
  return {
    routes: configRoutes !== null ? { routes: configRoutes } : storeRoutesFromDeployment(manifestHub ?? {}),
    policy: configPolicy !== null ? configPolicy : policyFromDeployment(manifestHub ?? {}),
    manifestHub,
  };
}

export function readManifestHub(config: OutpostConfig): Readonly<Record<string, unknown>> {
  const file = deploymentFileOf(config);
  const manifest = readManifest(file);
  if (!manifest.ok) throw manifestError(file, manifest.problems, manifest.code);
  return manifest.manifest.hub;
}
