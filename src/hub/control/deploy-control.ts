import { TwinStatus, twinIdOf, validateTwinPatch, type TwinProperties, type TwinService } from '../twin/index.js';
import type { HubControlAnswer } from './hub-control-server.js';

/** A validated deployment: each module's `properties.desired`, by module id ($edgeAgent, $edgeHub, others). */
export type CheckedDeployment =
  | { readonly ok: true; readonly desired: ReadonlyMap<string, Record<string, unknown>> }
  | { readonly ok: false; readonly statusCode: number; readonly problems: readonly unknown[] };

export interface DeployControlHandlers {
  deploy(deviceId: string, text: string): Promise<HubControlAnswer>;
}

const EDGE_AGENT = '$edgeAgent';
const EDGE_HUB = '$edgeHub';

/**
 * `outpost deploy <file> --device <child>` on a root: the manifest, validated as a local deploy
 * is (`validate`, from the composition root: schema, modules, routes), becomes the desired
 * properties of the child's module twins here, each section replaced as a whole (what IoT Hub does
 * with a deployment). The child's upstream relay mirrors them down and its agent applies them.
 * `$edgeHub` is written first and `$edgeAgent` last: the child's agent reads both when either
 * changes, so the routes are usually there before the modules that use them.
 */
export function deployControl(twins: TwinService, exists: (deviceId: string, moduleId: string | undefined) => boolean, validate: (deviceId: string, text: string) => CheckedDeployment): DeployControlHandlers {
  return {
    async deploy(deviceId, text) {
      if (!exists(deviceId, EDGE_AGENT)) {
        return {
          status: TwinStatus.NotFound,
          body: { code: 'OUTPOST_DEPLOYMENT_TARGET_UNKNOWN', message: `${deviceId}/${EDGE_AGENT} is not in the identity registry: add the child edge device and its $edgeAgent and $edgeHub modules (\`outpost identity add\`)` },
        };
      }
      const checked = validate(deviceId, text);
      if (!checked.ok) return { status: TwinStatus.BadRequest, body: { statusCode: checked.statusCode, problems: checked.problems } };
      // Every section must be a valid twin section before any is written.
      const sections = new Map<string, TwinProperties>();
      for (const [moduleId, desired] of checked.desired) {
        const twinCheck = validateTwinPatch(desired);
        if (!twinCheck.ok) return { status: TwinStatus.BadRequest, body: { code: 'OUTPOST_TWIN_PATCH_INVALID', message: `modulesContent.${moduleId}['properties.desired'] cannot be a twin's desired properties: ${twinCheck.reason}` } };
        sections.set(moduleId, twinCheck.patch);
      }
      const order = [EDGE_HUB, ...[...checked.desired.keys()].filter((id) => id !== EDGE_HUB && id !== EDGE_AGENT), EDGE_AGENT];
      const versions: Record<string, number> = {};
      for (const moduleId of order) {
        const desired = sections.get(moduleId);
        if (desired === undefined) continue;
        const result = await twins.replaceDesired(twinIdOf(deviceId, moduleId), desired);
        if (!result.ok) {
          return { status: result.status, body: { code: result.status === TwinStatus.BadRequest ? 'OUTPOST_TWIN_PATCH_INVALID' : 'OUTPOST_TWIN_STORE_FAILED', message: `${moduleId}: ${result.reason}`, versions } };
        }
        versions[moduleId] = result.version;
      }
      return { status: TwinStatus.Ok, body: { deviceId, versions } };
    },
  };
}
