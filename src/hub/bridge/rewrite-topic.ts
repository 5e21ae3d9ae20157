import { checkTopicName, topicMatches } from '../broker/index.js';
import type { BridgeRule } from './parse-bridges.js';

/**
 * What a rule makes of a topic arriving on its source side (notes 7.2, `mqtt-bridge/src/messages.rs`):
 * - `skip`: the rule's filter (`inPrefix + topic`) does not match it;
 * - `forward`: `inPrefix` stripped, `outPrefix` prepended;
 * - `empty`: the result is the empty topic, which Azure drops with a warning;
 * - `invalid`: the result is not a valid topic name (an `outPrefix` of `$share/…`, for one).
 */
export type Rewrite = { readonly kind: 'forward'; readonly topic: string } | { readonly kind: 'skip' } | { readonly kind: 'empty' } | { readonly kind: 'invalid'; readonly reason: string };

const SKIP: Rewrite = { kind: 'skip' };
const EMPTY: Rewrite = { kind: 'empty' };

/** The filter a rule subscribes to on its source side. */
export function sourceFilter(rule: BridgeRule): string {
  return rule.inPrefix + rule.topic;
}

/** Pure: the topic `rule` publishes on its destination side for `topic` received on its source side. */
export function rewriteTopic(rule: BridgeRule, topic: string): Rewrite {
  if (!topicMatches(sourceFilter(rule), topic)) return SKIP;
  // The filter starts with inPrefix literally (no wildcards in a prefix), so a match starts with
  // it too, except the parent level `#` also matches ("p/#" matches "p", MQTT-4.7.1-2): then
  // nothing is left of the topic after the prefix.
  const rewritten = rule.outPrefix + topic.slice(rule.inPrefix.length);
  if (rewritten === '') return EMPTY;
  if (rewritten.startsWith('$share/')) return { kind: 'invalid', reason: 'a $share/ topic name is a shared subscription filter' };
  const check = checkTopicName(rewritten);
  return check.ok ? { kind: 'forward', topic: rewritten } : { kind: 'invalid', reason: check.reason };
}
