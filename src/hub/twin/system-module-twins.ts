import { OutpostError } from '../../errors/index.js';
import type { TwinService } from './twin-service.js';
import { twinIdOf, type TwinProperties } from './twin-types.js';

/** `$edgeAgent` or `$edgeHub`. */
type SystemModule = '$edgeAgent' | '$edgeHub';

/**
 * This edge device's `$edgeAgent` and `$edgeHub` twins as the agent managed from above uses them
 * (src/agent/run/desired-twins.ts, DesiredTwins): desired sections read from the twin store, told
 * of every desired change (the upstream relay mirrors the parent's into it), reported patches
 * written as the twins' owner writes them (so the relay sends them up, in order).
 */
export function systemModuleTwins(twins: TwinService, edgeDeviceId: string) {
  const idOf = (module: SystemModule) => twinIdOf(edgeDeviceId, module);
  return {
    async desired(module: SystemModule): Promise<TwinProperties & { $version: number }> {
      const result = await twins.get(idOf(module));
      if (!result.ok) throw new OutpostError('OUTPOST_TWIN_STORE_FAILED', result.reason);
      return result.twin.desired;
    },
    async reported(module: SystemModule): Promise<Record<string, unknown>> {
      const result = await twins.get(idOf(module));
      if (!result.ok) throw new OutpostError('OUTPOST_TWIN_STORE_FAILED', result.reason);
      const reported: Record<string, unknown> = { ...result.twin.reported };
      delete reported.$version;
      return reported;
    },
    onDesiredChanged(listener: () => void): void {
      // A listener that takes every change: it reads the whole desired section again, so what
      // the notification carries does not matter.
      for (const module of ['$edgeAgent', '$edgeHub'] as const) {
        twins.subscribeDesired(idOf(module), () => {
          listener();
          return true;
        });
      }
    },
    async patchReported(module: SystemModule, patch: Record<string, unknown>): Promise<void> {
      const result = await twins.patchReported(idOf(module), patch);
      if (!result.ok) throw new OutpostError(result.status >= 500 ? 'OUTPOST_TWIN_STORE_FAILED' : 'OUTPOST_AGENT_TWIN_REPORT_FAILED', `the ${module} twin refused the reported properties: ${result.reason}`);
    },
  };
}
