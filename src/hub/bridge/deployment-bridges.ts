/**
 * The bridge's part of a deployment: `$edgeHub` desired properties `mqttBroker.bridges` (schema
 * 1.2 and later; notes 1.3 and 7.2). The rest of `mqttBroker` (its shape, the schema version,
 * `authorizations`) is the policy's to check (auth/policy/deployment-policy.ts): a problem there
 * is reported once, by it.
 */
import { parseBridges, type BridgeProblem, type BridgeRule } from './parse-bridges.js';

/** The bridge rules of a deployment; none without `mqttBroker.bridges` (or when it is invalid: such a manifest is refused before it gets here). */
export function bridgeRulesFromDeployment(hubDesired: Readonly<Record<string, unknown>>): readonly BridgeRule[] {
  const bridges = bridgesOf(hubDesired);
  if (bridges === undefined) return [];
  const parsed = parseBridges(bridges);
  return parsed.ok ? parsed.rules : [];
}

/** Every problem of the deployment's bridges, with paths below `$edgeHub['properties.desired']`, for manifest validation (status 400). */
export function deploymentBridgeProblems(hubDesired: Readonly<Record<string, unknown>>): BridgeProblem[] {
  const bridges = bridgesOf(hubDesired);
  if (bridges === undefined) return [];
  const parsed = parseBridges(bridges, 'mqttBroker.bridges');
  return parsed.ok ? [] : [...parsed.problems];
}

function bridgesOf(hubDesired: Readonly<Record<string, unknown>>): unknown {
  const broker = hubDesired.mqttBroker;
  if (typeof broker !== 'object' || broker === null || Array.isArray(broker)) return undefined;
  return (broker as Record<string, unknown>).bridges;
}
