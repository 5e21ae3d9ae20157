/**
 * Topic names and filters (MQTT 5.0 section 4.7, 3.1.1 section 4.7). Hot path: results, not
 * exceptions.
 */

export type TopicCheck = { ok: true } | { ok: false; reason: string };

const OK: TopicCheck = { ok: true };
const MAX_TOPIC_BYTES = 65_535;

/** Shared subscription prefix (MQTT 5.0 section 4.8.2). */
const SHARE_PREFIX = '$share/';

function commonChecks(text: string): TopicCheck {
  if (text.length === 0) return { ok: false, reason: 'empty topic' }; // MQTT-4.7.3-1
  if (Buffer.byteLength(text, 'utf8') > MAX_TOPIC_BYTES) return { ok: false, reason: 'topic longer than 65535 bytes' };
  // MQTT-1.5.4-2: no U+0000. mqtt-packet decodes ill-formed UTF-8 to U+FFFD, so a U+FFFD here is
  // almost always a malformed string (MQTT-1.5.4-1); we refuse it rather than route garbage.
  if (text.includes('\u0000')) return { ok: false, reason: 'topic contains U+0000' };
  if (text.includes('\uFFFD')) return { ok: false, reason: 'topic is not well-formed UTF-8' };
  return OK;
}

/** A topic in PUBLISH or a will: no wildcards (MQTT-3.3.2-2). */
export function checkTopicName(topic: string): TopicCheck {
  const common = commonChecks(topic);
  if (!common.ok) return common;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */) return { ok: false, reason: 'wildcard in a topic name' };
  }
  return OK;
}

/** A filter in SUBSCRIBE/UNSUBSCRIBE: `+` a whole level, `#` last and a whole level (MQTT-4.7.1-1/2). */
export function checkTopicFilter(filter: string): TopicCheck {
  const common = commonChecks(filter);
  if (!common.ok) return common;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return { ok: false, reason: "'#' must be the last level and alone in it" };
    }
    if (level.includes('+') && level !== '+') return { ok: false, reason: "'+' must occupy a whole level" };
  }
  return OK;
}

export interface SharedFilter {
  readonly group: string;
  readonly filter: string;
}

export type SharedParse = { ok: true; shared: SharedFilter | undefined } | { ok: false; reason: string };

/** `$share/{group}/{filter}`: group without wildcards or '/', filter a valid filter. */
export function parseSharedFilter(text: string): SharedParse {
  if (!text.startsWith(SHARE_PREFIX)) return { ok: true, shared: undefined };
  const rest = text.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return { ok: false, reason: 'shared subscription needs $share/{group}/{filter}' };
  const group = rest.slice(0, slash);
  if (group.includes('+') || group.includes('#')) return { ok: false, reason: 'wildcard in a share name' };
  const filter = rest.slice(slash + 1);
  const check = checkTopicFilter(filter);
  return check.ok ? { ok: true, shared: { group, filter } } : check;
}

/** Does a filter match a topic name? `$`-topics are not matched by a leading wildcard (MQTT-4.7.2-1). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 0x24 /* $ */ && (filter[0] === '+' || filter[0] === '#')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
