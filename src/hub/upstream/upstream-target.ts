import { RateLimitedLog, type Logger } from '../../log/index.js';
import type { EndpointTarget } from '../endpoints/index.js';
import { SystemProperty } from '../message/index.js';
import type { UpstreamLink } from './upstream-link.js';

/**
 * The `$upstream` endpoint: each routed message goes to the parent as the identity it came from
 * (`$connectionDeviceId`/`$connectionModuleId`), so the parent routes it with the same attribution.
 * Not connected: unavailable, and the store keeps the message and tries again. That identity's
 * token refused for now, or its link lost: only that identity waits (`sourceOf`), the store goes
 * on with the others' messages. A message from an identity the link has no key for is undeliverable
 * (logged, rate-limited): retrying would never succeed and would hold up the queue.
 */
export function upstreamTarget(link: UpstreamLink, logger: Logger): EndpointTarget {
  const warnings = new RateLimitedLog(logger);
  return {
    deliver(endpoint, message, onSettled) {
      if (endpoint.kind !== 'upstream') return false;
      const system = message.systemProperties;
      const deviceId = Object.hasOwn(system, SystemProperty.ConnectionDeviceId) ? system[SystemProperty.ConnectionDeviceId] : undefined;
      const moduleId = Object.hasOwn(system, SystemProperty.ConnectionModuleId) ? system[SystemProperty.ConnectionModuleId] : undefined;
      if (deviceId === undefined) {
        queueMicrotask(() => onSettled('rejected'));
        return true;
      }
      const sent = link.send(deviceId, moduleId, message, onSettled);
      if (sent === 'noCredentials') {
        const identity = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
        warnings.warn(`upstream.no_credentials:${identity}`, { event: 'upstream.no_credentials', identity, code: 'OUTPOST_UPSTREAM_NO_CREDENTIALS' }, 'no SAS key for this identity: its $upstream message is dropped as undeliverable');
        // Settled after deliver returns, as a real send would be (the dispatcher expects it).
        queueMicrotask(() => onSettled('rejected'));
        return true;
      }
      if (sent === 'held') return 'sourceUnavailable';
      return sent === 'sent';
    },
    sourceOf(endpoint, message) {
      if (endpoint.kind !== 'upstream') return undefined;
      const system = message.systemProperties;
      const deviceId = Object.hasOwn(system, SystemProperty.ConnectionDeviceId) ? system[SystemProperty.ConnectionDeviceId] : '';
      const moduleId = Object.hasOwn(system, SystemProperty.ConnectionModuleId) ? system[SystemProperty.ConnectionModuleId] : undefined;
      return moduleId === undefined ? `${deviceId}` : `${deviceId}/${moduleId}`;
    },
  };
}
