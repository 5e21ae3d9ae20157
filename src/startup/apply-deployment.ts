import type { Deployment } from '../agent/index.js';
import { policyFromDeployment } from '../hub/auth/index.js';
import { bridgeRulesFromDeployment } from '../hub/bridge/index.js';
import { storeRoutesFromDeployment } from '../hub/store/index.js';
import type { Logger } from '../log/index.js';
import type { StartedHub } from './start-hub.js';

/** A new deployment: its routes on every shard (queued messages stay where they are), its policy. */
export function applyDeployment(started: StartedHub, deployment: Deployment, logger: Logger): void {
  const file = deployment.manifest.file;
  started.store.replaceRoutes(storeRoutesFromDeployment(deployment.manifest.hub)).then(
    () => logger.info({ event: 'hub.routes_replaced', source: 'deployment', deployment: file }, 'routes replaced from the new deployment'),
    (error: unknown) => logger.error({ event: 'hub.routes_replace_failed', code: 'OUTPOST_INTERNAL', err: error }, 'cannot replace the routes'),
  );
  started.policy.replace(policyFromDeployment(deployment.manifest.hub), `deployment ${file}`, started.mqtt);
  started.bridge.apply(bridgeRulesFromDeployment(deployment.manifest.hub));
}
