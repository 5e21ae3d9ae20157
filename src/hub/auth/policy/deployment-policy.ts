/**
 * The broker policy's part of a deployment: `$edgeHub` desired properties `mqttBroker`
 * (`{authorizations: [...], bridges: [...]}`, schema 1.2 and later; notes 1.3 and 7.1).
 *
 * - No `mqttBroker`, or one without `authorizations`: the default policy (DEFAULT_POLICY).
 * - `mqttBroker` under schema 1.0 or 1.1 is refused rather than ignored (Azure's 1.0/1.1 readers
 *   drop it silently): an operator who wrote a policy must never run without it unknowingly.
 */
import { parsePolicy } from './parse-policy.js';

export interface DeploymentPolicyProblem {
  /** Path below `$edgeHub['properties.desired']`, e.g. `mqttBroker.authorizations[1].allow[0].operations[0]`. */
  readonly path: string;
  readonly message: string;
}

/** The document to hand to `Authorizer.replacePolicy`, or undefined for the default policy. */
export function policyFromDeployment(hubDesired: Readonly<Record<string, unknown>>): unknown {
  const broker = hubDesired.mqttBroker;
  if (!isObject(broker) || broker.authorizations === undefined) return undefined;
  return broker;
}

/** Every problem of the deployment's policy, for manifest validation (status 400). */
export function deploymentPolicyProblems(hubDesired: Readonly<Record<string, unknown>>): DeploymentPolicyProblem[] {
  const broker = hubDesired.mqttBroker;
  if (broker === undefined) return [];
  if (!isObject(broker)) return [{ path: 'mqttBroker', message: 'must be an object {authorizations, bridges}' }];
  const version = typeof hubDesired.schemaVersion === 'string' ? /^\s*1\.([01])(\.0)?\s*$/.exec(hubDesired.schemaVersion) : null;
  if (version !== null) return [{ path: 'mqttBroker', message: `needs $edgeHub schemaVersion 1.2 or later (this manifest says ${String(hubDesired.schemaVersion)}, where Azure ignores mqttBroker)` }];
  if (broker.authorizations === undefined) {
    const unknown = Object.keys(broker).filter((key) => key !== 'bridges');
    return unknown.map((key) => ({ path: `mqttBroker.${key}`, message: `unknown key "${key}" (expected authorizations, bridges)` }));
  }
  if (!Array.isArray(broker.authorizations)) return [{ path: 'mqttBroker.authorizations', message: 'must be an array of statements {identities, allow?, deny?}' }];
  const parsed = parsePolicy(broker);
  if (parsed.ok) return [];
  return parsed.problems.map((problem) => ({ path: problem.path === '' ? 'mqttBroker' : `mqttBroker.${problem.path}`, message: problem.message }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
