/**
 * A policy compiled once for fast decisions. Rules without variables in their identity are
 * indexed by identity; rules with variables are kept in a list and resolved per client. A client's
 * rules are resolved once into `Permissions` (resources split into levels with its variables in
 * place), so a PUBLISH costs a few level comparisons.
 *
 * Decision: any matching deny refuses; otherwise any matching allow grants; otherwise refused
 * (default deny). This is the "deny wins" Learn documents; the preview broker's code let the
 * first statement in order win, so a policy that relied on an early allow overriding a later deny
 * is stricter here.
 */
import { OPERATIONS, type Operation, type PolicyRule } from './parse-policy.js';
import {
  coversFilter,
  intersectsFilter,
  matchesTopic,
  parseTemplate,
  resolveResource,
  resourceTemplate,
  substitute,
  type Level,
  type ResourceTemplate,
  type Template,
  type VariableValues,
} from './policy-template.js';

interface CompiledRule {
  readonly effect: 'allow' | 'deny';
  readonly identity: Template;
  readonly operation: Operation;
  readonly resources: readonly ResourceTemplate[];
}

interface Resolved {
  readonly allow: Level[][];
  readonly deny: Level[][];
}

/** What one client (identity + client id) may do under one policy. */
export interface Permissions {
  readonly connect: boolean;
  readonly publish: Resolved;
  readonly subscribe: Resolved;
}

export class CompiledPolicy {
  /**
   * True when every IoT Hub identity may connect whoever it is: an allow of `mqtt:connect` for
   * `{{iot:identity}}` and no deny of `mqtt:connect` anywhere (the default policy, and most
   * deployments). The connect check then needs no per-client permissions.
   */
  readonly connectsEveryone: boolean;

  private constructor(
    private readonly byIdentity: ReadonlyMap<string, readonly CompiledRule[]>,
    private readonly withVariables: readonly CompiledRule[],
    readonly ruleCount: number,
  ) {
    const connectRules = [...[...byIdentity.values()].flat(), ...withVariables].filter((rule) => rule.operation === 'mqtt:connect');
    this.connectsEveryone = !connectRules.some((rule) => rule.effect === 'deny') && connectRules.some((rule) => rule.effect === 'allow' && isEveryIdentity(rule.identity));
  }

  /** Rules must come from parsePolicy (templates already checked). */
  static compile(rules: readonly PolicyRule[]): CompiledPolicy {
    const byIdentity = new Map<string, CompiledRule[]>();
    const withVariables: CompiledRule[] = [];
    let count = 0;
    for (const rule of rules) {
      const resources = rule.resources.map(resourceTemplate);
      for (const identityText of rule.identities) {
        const parsed = parseTemplate(identityText);
        if (!parsed.ok) throw new Error(`CompiledPolicy: ${parsed.reason}`); // parsePolicy checked it
        for (const operation of rule.operations) {
          const compiled: CompiledRule = { effect: rule.effect, identity: parsed.template, operation, resources };
          count++;
          if (parsed.template.hasVariables) withVariables.push(compiled);
          else {
            const list = byIdentity.get(identityText) ?? [];
            list.push(compiled);
            byIdentity.set(identityText, list);
          }
        }
      }
    }
    return new CompiledPolicy(byIdentity, withVariables, count);
  }

  /** `values['iot:identity']` must be set: it selects the rules. */
  permissionsFor(values: VariableValues): Permissions {
    const identity = values['iot:identity'];
    const rules: CompiledRule[] = identity === undefined ? [] : [...(this.byIdentity.get(identity) ?? [])];
    for (const rule of this.withVariables) if (identity !== undefined && substitute(rule.identity, values) === identity) rules.push(rule);
    const resolved = Object.fromEntries(OPERATIONS.map((operation) => [operation, { allow: [] as Level[][], deny: [] as Level[][] }])) as Record<Operation, Resolved>;
    const connect = { allow: false, deny: false };
    for (const rule of rules) {
      if (rule.operation === 'mqtt:connect') {
        connect[rule.effect] = true;
        continue;
      }
      for (const resource of rule.resources) {
        const levels = resolveResource(resource, values);
        // A variable with no value here (module_id for a device) makes the rule not apply.
        if (levels !== undefined) resolved[rule.operation][rule.effect].push(levels);
      }
    }
    return { connect: connect.allow && !connect.deny, publish: resolved['mqtt:publish'], subscribe: resolved['mqtt:subscribe'] };
  }
}

/** `{{iot:identity}}` alone: the template every identity matches (it substitutes to itself). */
function isEveryIdentity(template: Template): boolean {
  const only = template.parts.length === 1 ? template.parts[0] : undefined;
  return only !== undefined && typeof only !== 'string' && only.variable === 'iot:identity';
}

export function mayPublish(permissions: Permissions, topic: string): boolean {
  const levels = topic.split('/');
  const { allow, deny } = permissions.publish;
  return !deny.some((resource) => matchesTopic(resource, levels)) && allow.some((resource) => matchesTopic(resource, levels));
}

export function maySubscribe(permissions: Permissions, filter: string): boolean {
  const levels = filter.split('/');
  const { allow, deny } = permissions.subscribe;
  return !deny.some((resource) => intersectsFilter(resource, levels)) && allow.some((resource) => coversFilter(resource, levels));
}
