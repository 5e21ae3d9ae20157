import { twinFailure, twinIdOf, TwinStatus, type TwinService } from '../twin/index.js';
import type { HubControlAnswer, HubControlHandlers } from './hub-control-server.js';

/**
 * The twin endpoints of the hub control API: the operator reads twins and sets desired properties
 * of identities in the registry (`exists`); anything else is 404.
 */
export function twinControl(twins: TwinService, exists: (deviceId: string, moduleId: string | undefined) => boolean): Pick<HubControlHandlers, 'twin' | 'updateDesired'> {
  const missing = (deviceId: string, moduleId: string | undefined): HubControlAnswer => ({
    status: TwinStatus.NotFound,
    body: { code: 'OUTPOST_TWIN_NOT_FOUND', message: `${moduleId === undefined ? `device ${deviceId}` : `module ${deviceId}/${moduleId}`} is not in the identity registry (\`outpost identity list\`)` },
  });
  const failed = (result: { status: number; reason: string }): HubControlAnswer => ({
    status: result.status,
    body: { code: result.status === TwinStatus.BadRequest ? 'OUTPOST_TWIN_PATCH_INVALID' : 'OUTPOST_TWIN_STORE_FAILED', message: result.reason },
  });
  return {
    async twin(deviceId, moduleId) {
      if (!exists(deviceId, moduleId)) return missing(deviceId, moduleId);
      const result = await twins.get(twinIdOf(deviceId, moduleId));
      if (!result.ok) return failed(result);
      const { version, desired, reported } = result.twin;
      return { status: TwinStatus.Ok, body: { deviceId, ...(moduleId === undefined ? {} : { moduleId }), version, properties: { desired, reported } } };
    },
    async updateDesired(deviceId, moduleId, patchText) {
      if (!exists(deviceId, moduleId)) return missing(deviceId, moduleId);
      let patch: unknown;
      try {
        patch = JSON.parse(patchText);
      } catch (error) {
        return failed(twinFailure(TwinStatus.BadRequest, `the patch is not valid JSON: ${(error as Error).message}`));
      }
      const result = await twins.updateDesired(twinIdOf(deviceId, moduleId), patch, Buffer.byteLength(patchText));
      return result.ok ? { status: TwinStatus.Ok, body: { version: result.version } } : failed(result);
    },
  };
}
