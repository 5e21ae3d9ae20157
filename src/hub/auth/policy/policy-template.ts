/**
 * Templates of the authorization policy: identities and resources with `{{…}}` variables, and
 * MQTT topic matching of resolved resources.
 *
 * A substituted value is always literal text: a device id may legally contain `+` or `#`, and it
 * must not turn a resource into a wildcard. So resources are split into levels when the policy is
 * compiled (`+` and `#` there are wildcards), and substituted text only ever yields literal levels
 * (a value containing `/`, such as `{{iot:identity}}`, yields several).
 */

export const POLICY_VARIABLES = ['iot:identity', 'iot:device_id', 'iot:module_id', 'mqtt:client_id', 'iot:this_device_id'] as const;
export type PolicyVariable = (typeof POLICY_VARIABLES)[number];
export type VariableValues = Readonly<Partial<Record<PolicyVariable, string>>>;

type Part = string | { readonly variable: PolicyVariable };

/** Text with variables, split into literal parts and variable references. */
export interface Template {
  readonly text: string;
  readonly parts: readonly Part[];
  readonly hasVariables: boolean;
}

export const PLUS = 1;
export const HASH = 2;
/** A resolved level: literal text, or a wildcard that came from the policy itself. */
export type Level = string | typeof PLUS | typeof HASH;
type TemplateLevel = Template | typeof PLUS | typeof HASH;

/** A resource split into levels at compile time. */
export interface ResourceTemplate {
  readonly text: string;
  readonly levels: readonly TemplateLevel[];
}

export type TemplateParse = { ok: true; template: Template } | { ok: false; reason: string };

export function parseTemplate(text: string): TemplateParse {
  const parts: Part[] = [];
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('{{', index);
    if (open === -1) {
      parts.push(text.slice(index));
      break;
    }
    if (open > index) parts.push(text.slice(index, open));
    const close = text.indexOf('}}', open + 2);
    if (close === -1) return { ok: false, reason: `unclosed "{{" at character ${open + 1}` };
    const name = text.slice(open + 2, close).trim();
    if (!(POLICY_VARIABLES as readonly string[]).includes(name)) {
      return { ok: false, reason: `unknown variable {{${name}}} (allowed: ${POLICY_VARIABLES.map((v) => `{{${v}}}`).join(', ')})` };
    }
    parts.push({ variable: name as PolicyVariable });
    index = close + 2;
  }
  return { ok: true, template: { text, parts, hasVariables: parts.some((part) => typeof part !== 'string') } };
}

/** The template's text with the values in place; undefined when a variable has no value here. */
export function substitute(template: Template, values: VariableValues): string | undefined {
  if (!template.hasVariables) return template.text;
  let result = '';
  for (const part of template.parts) {
    if (typeof part === 'string') result += part;
    else {
      const value = values[part.variable];
      if (value === undefined) return undefined;
      result += value;
    }
  }
  return result;
}

/** Splits a resource whose templates already parsed; `+`/`#` levels become wildcards. */
export function resourceTemplate(text: string): ResourceTemplate {
  const levels = text.split('/').map((level): TemplateLevel => {
    if (level === '+') return PLUS;
    if (level === '#') return HASH;
    const parsed = parseTemplate(level);
    if (!parsed.ok) throw new Error(`resourceTemplate: ${parsed.reason}`); // checked by the parser before
    return parsed.template;
  });
  return { text, levels };
}

/** The resource's levels for one request; undefined when a variable has no value. */
export function resolveResource(resource: ResourceTemplate, values: VariableValues): Level[] | undefined {
  const result: Level[] = [];
  for (const level of resource.levels) {
    if (level === PLUS || level === HASH) result.push(level);
    else {
      const text = substitute(level, values);
      if (text === undefined) return undefined;
      if (level.hasVariables) result.push(...text.split('/'));
      else result.push(text);
    }
  }
  return result;
}

const startsWithDollar = (level: string | undefined) => level !== undefined && level.charCodeAt(0) === 0x24;

/** A topic name matched by a resolved resource (MQTT-4.7.2-1: no leading wildcard for `$` topics). */
export function matchesTopic(resource: readonly Level[], topic: readonly string[]): boolean {
  if (startsWithDollar(topic[0]) && typeof resource[0] !== 'string') return false;
  for (let i = 0; i < resource.length; i++) {
    const level = resource[i]!;
    if (level === HASH) return true;
    if (i >= topic.length) return false;
    if (level !== PLUS && level !== topic[i]) return false;
  }
  return resource.length === topic.length;
}

/**
 * Every topic the requested filter can match is matched by the resource: what an allow rule
 * must establish before a subscription is granted. `a/+` does not cover `a/#`; `a/#` covers `a`.
 */
export function coversFilter(resource: readonly Level[], filter: readonly string[]): boolean {
  // A leading wildcard in the resource never reaches `$` topics (MQTT-4.7.2-1).
  if (typeof resource[0] !== 'string' && startsWithDollar(filter[0])) return false;
  for (let i = 0; i < resource.length; i++) {
    const level = resource[i]!;
    if (level === HASH) return true;
    const requested = filter[i];
    if (requested === undefined || requested === '#') return false;
    if (level === PLUS) continue;
    if (requested === '+' || requested !== level) return false;
  }
  return resource.length === filter.length;
}

/**
 * Some topic is matched by both the resource and the requested filter: what makes a deny rule
 * apply to a subscription, so denying `a/secret` also refuses a subscription to `a/+`.
 */
export function intersectsFilter(resource: readonly Level[], filter: readonly string[]): boolean {
  const first = resource[0];
  const requestedFirst = filter[0];
  if (typeof first === 'string' && startsWithDollar(first) && (requestedFirst === '+' || requestedFirst === '#')) return false;
  if (typeof first !== 'string' && startsWithDollar(requestedFirst)) return false;
  for (let i = 0; ; i++) {
    const level = resource[i];
    const requested = filter[i];
    if (level === HASH || requested === '#') return true;
    if (level === undefined || requested === undefined) return level === undefined && requested === undefined;
    if (level === PLUS || requested === '+') continue;
    if (level !== requested) return false;
  }
}
