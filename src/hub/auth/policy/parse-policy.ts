/**
 * Reads a broker authorization policy in Azure's formats (notes 7.1) and checks it as
 * `BrokerConfigValidator` does, reporting every problem with its path at once:
 *
 * - the `$edgeHub` twin form: `[{identities, allow?: [{operations, resources?}], deny?: [...]}]`,
 *   or that array under `authorizations` (the `mqttBroker` object; its `bridges` are the bridge's to check: src/hub/bridge);
 * - the broker form: `{statements: [{effect: "allow"|"deny", identities, operations, resources?}]}`;
 * - either as JSON text.
 *
 * Checks: identities non-empty strings; operations among mqtt:connect|publish|subscribe;
 * resources non-empty unless the only operation is mqtt:connect; every resource a valid MQTT topic
 * filter; only the five variables; no unknown keys (a misspelt "deny" must not silently allow).
 */
import { checkTopicFilter } from '../../broker/index.js';
import { describeJsonError } from '../describe-json-error.js';
import { parseTemplate } from './policy-template.js';

export const OPERATIONS = ['mqtt:connect', 'mqtt:publish', 'mqtt:subscribe'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** One rule of one statement, normalized from either form. */
export interface PolicyRule {
  readonly effect: 'allow' | 'deny';
  readonly identities: readonly string[];
  readonly operations: readonly Operation[];
  readonly resources: readonly string[];
  /** Index of the statement it came from, for messages. */
  readonly statement: number;
}

export interface PolicyProblem {
  /** JSON path of the offending value, e.g. `authorizations[2].allow[0].resources[1]`. */
  readonly path: string;
  /** Index of the statement, when the problem is inside one. */
  readonly statement: number | undefined;
  readonly message: string;
}

export type PolicyParse = { readonly ok: true; readonly rules: readonly PolicyRule[] } | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function parsePolicy(input: unknown): PolicyParse {
  let document = input;
  if (typeof input === 'string') {
    try {
      document = JSON.parse(input);
    } catch (error) {
      return { ok: false, problems: [{ path: '', statement: undefined, message: `policy is ${describeJsonError(error, input)}` }] };
    }
  }
  const problems: PolicyProblem[] = [];
  const rules: PolicyRule[] = [];
  const context = { problems, rules };
  if (Array.isArray(document)) document.forEach((s, i) => twinStatement(s, `[${i}]`, i, context));
  else if (isObject(document) && Array.isArray(document.authorizations)) {
    unknownKeys(document, ['authorizations', 'bridges'], '', undefined, problems);
    document.authorizations.forEach((s, i) => twinStatement(s, `authorizations[${i}]`, i, context));
  } else if (isObject(document) && Array.isArray(document.statements)) {
    unknownKeys(document, ['statements'], '', undefined, problems);
    document.statements.forEach((s, i) => brokerStatement(s, `statements[${i}]`, i, context));
  } else {
    problems.push({ path: '', statement: undefined, message: 'expected an array of statements, {"authorizations": [...]} or {"statements": [...]}' });
  }
  return problems.length === 0 ? { ok: true, rules } : { ok: false, problems };
}

interface Context {
  readonly problems: PolicyProblem[];
  readonly rules: PolicyRule[];
}

function twinStatement(value: unknown, path: string, index: number, context: Context): void {
  const { problems } = context;
  if (!isObject(value)) {
    problems.push({ path, statement: index, message: 'a statement must be an object {identities, allow?, deny?}' });
    return;
  }
  unknownKeys(value, ['identities', 'allow', 'deny'], path, index, problems);
  const identities = checkIdentities(value.identities, `${path}.identities`, index, problems);
  if (value.allow === undefined && value.deny === undefined) problems.push({ path, statement: index, message: 'a statement needs "allow" or "deny" rules' });
  // Deny rules first, as EdgeHub emits them (the order only matters for reading the result:
  // deny wins regardless).
  for (const effect of ['deny', 'allow'] as const) {
    const list = value[effect];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      problems.push({ path: `${path}.${effect}`, statement: index, message: `"${effect}" must be an array of {operations, resources}` });
      continue;
    }
    list.forEach((rule, r) => {
      const rulePath = `${path}.${effect}[${r}]`;
      if (!isObject(rule)) {
        problems.push({ path: rulePath, statement: index, message: 'a rule must be an object {operations, resources}' });
        return;
      }
      unknownKeys(rule, ['operations', 'resources'], rulePath, index, problems);
      addRule(effect, identities, rule, rulePath, index, context);
    });
  }
}

function brokerStatement(value: unknown, path: string, index: number, context: Context): void {
  const { problems } = context;
  if (!isObject(value)) {
    problems.push({ path, statement: index, message: 'a statement must be an object {effect, identities, operations, resources}' });
    return;
  }
  unknownKeys(value, ['effect', 'identities', 'operations', 'resources'], path, index, problems);
  const identities = checkIdentities(value.identities, `${path}.identities`, index, problems);
  if (value.effect !== 'allow' && value.effect !== 'deny') {
    problems.push({ path: `${path}.effect`, statement: index, message: 'effect must be "allow" or "deny"' });
    return;
  }
  addRule(value.effect, identities, value, path, index, context);
}

function addRule(effect: 'allow' | 'deny', identities: string[] | undefined, rule: Json, path: string, index: number, context: Context): void {
  const { problems } = context;
  const before = problems.length;
  const operations: Operation[] = [];
  if (!Array.isArray(rule.operations) || rule.operations.length === 0) {
    problems.push({ path: `${path}.operations`, statement: index, message: `operations must be a non-empty array of ${OPERATIONS.join(', ')}` });
  } else {
    rule.operations.forEach((operation, o) => {
      if ((OPERATIONS as readonly unknown[]).includes(operation)) operations.push(operation as Operation);
      else problems.push({ path: `${path}.operations[${o}]`, statement: index, message: `unknown operation ${JSON.stringify(operation)} (allowed: ${OPERATIONS.join(', ')})` });
    });
  }
  const resources: string[] = [];
  const connectOnly = operations.length > 0 && operations.every((operation) => operation === 'mqtt:connect');
  if (rule.resources === undefined || (Array.isArray(rule.resources) && rule.resources.length === 0)) {
    if (!connectOnly) problems.push({ path: `${path}.resources`, statement: index, message: 'resources must be a non-empty array of topic filters (only a rule whose one operation is mqtt:connect may omit them)' });
  } else if (!Array.isArray(rule.resources)) {
    problems.push({ path: `${path}.resources`, statement: index, message: 'resources must be an array of topic filters' });
  } else {
    rule.resources.forEach((resource, r) => {
      const problem = resourceProblem(resource);
      if (problem === undefined) resources.push(resource as string);
      else problems.push({ path: `${path}.resources[${r}]`, statement: index, message: problem });
    });
  }
  if (problems.length === before && identities !== undefined) context.rules.push({ effect, identities, operations, resources, statement: index });
}

function checkIdentities(value: unknown, path: string, index: number, problems: PolicyProblem[]): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push({ path, statement: index, message: 'identities must be a non-empty array, e.g. ["{{iot:identity}}"] or ["<hub>/<device>[/<module>]"]' });
    return undefined;
  }
  const result: string[] = [];
  value.forEach((identity, i) => {
    if (typeof identity !== 'string' || identity.trim().length === 0) {
      problems.push({ path: `${path}[${i}]`, statement: index, message: 'an identity must be a non-empty string' });
      return;
    }
    const parsed = parseTemplate(identity);
    if (!parsed.ok) problems.push({ path: `${path}[${i}]`, statement: index, message: parsed.reason });
    else result.push(identity);
  });
  return result.length === value.length ? result : undefined;
}

function resourceProblem(resource: unknown): string | undefined {
  if (typeof resource !== 'string') return 'a resource must be a string (an MQTT topic filter)';
  for (const level of resource.split('/')) {
    const parsed = parseTemplate(level);
    if (!parsed.ok) return parsed.reason;
  }
  // Variables stand for literal text; check the filter with a placeholder in their place.
  const check = checkTopicFilter(resource.replace(/\{\{[^}]*\}\}/g, 'x'));
  return check.ok ? undefined : `${JSON.stringify(resource)} is not a valid MQTT topic filter: ${check.reason}`;
}

function unknownKeys(value: Json, known: readonly string[], path: string, index: number | undefined, problems: PolicyProblem[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push({ path: path === '' ? key : `${path}.${key}`, statement: index, message: `unknown key "${key}" (expected ${known.join(', ')})` });
  }
}
