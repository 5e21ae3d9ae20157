/**
 * The bridge's topic rewrite with Azure's semantics (notes 7.2): the rule's filter is
 * `inPrefix + topic` on the source side; a match has `inPrefix` stripped and `outPrefix` prepended;
 * an empty result is dropped; prefixes are literal text, not levels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rewriteTopic, sourceFilter, type BridgeRule } from '../../src/hub/bridge/index.js';

const rule = (topic: string, inPrefix = '', outPrefix = '', direction: BridgeRule['direction'] = 'out'): BridgeRule => ({ direction, topic, inPrefix, outPrefix });

describe('bridge topic rewrite', () => {
  it('subscribes to inPrefix + topic on the source side', () => {
    assert.equal(sourceFilter(rule('#', '/local/telemetry/', '/remote/messages/')), '/local/telemetry/#');
    assert.equal(sourceFilter(rule('alerts/#')), 'alerts/#');
    assert.equal(sourceFilter(rule('', 'exact/topic')), 'exact/topic');
  });

  it("strips inPrefix and prepends outPrefix (Azure's manifest example)", () => {
    assert.deepEqual(rewriteTopic(rule('#', '/local/telemetry/', '/remote/messages/'), '/local/telemetry/line1/temp'), { kind: 'forward', topic: '/remote/messages/line1/temp' });
    assert.deepEqual(rewriteTopic(rule('alerts/#', '', '', 'in'), 'alerts/fire'), { kind: 'forward', topic: 'alerts/fire' });
  });

  it('keeps the topic as is without prefixes, and only adds or only removes with one of them', () => {
    assert.deepEqual(rewriteTopic(rule('a/+/c'), 'a/b/c'), { kind: 'forward', topic: 'a/b/c' });
    assert.deepEqual(rewriteTopic(rule('#', 'site1/'), 'site1/x/y'), { kind: 'forward', topic: 'x/y' });
    assert.deepEqual(rewriteTopic(rule('#', '', 'site1/'), 'x/y'), { kind: 'forward', topic: 'site1/x/y' });
  });

  it('treats prefixes as text: no slash is added or required between prefix and topic', () => {
    assert.deepEqual(rewriteTopic(rule('a/b', 'pre', 'post'), 'prea/b'), { kind: 'forward', topic: 'posta/b' });
  });

  it('skips topics the filter does not match (including the prefix alone and $ topics under #)', () => {
    assert.deepEqual(rewriteTopic(rule('#', 'local/'), 'remote/x'), { kind: 'skip' });
    assert.deepEqual(rewriteTopic(rule('a/+'), 'a/b/c'), { kind: 'skip' });
    assert.deepEqual(rewriteTopic(rule('#'), '$SYS/broker'), { kind: 'skip' });
  });

  it('drops an empty rewritten topic, as Azure does', () => {
    // "local/#" matches "local" itself (MQTT-4.7.1-2): nothing is left after the prefix.
    assert.deepEqual(rewriteTopic(rule('#', 'local/'), 'local'), { kind: 'empty' });
    assert.deepEqual(rewriteTopic(rule('', 'exact/topic'), 'exact/topic'), { kind: 'empty' });
    assert.deepEqual(rewriteTopic(rule('', 'exact/topic', 'renamed'), 'exact/topic'), { kind: 'forward', topic: 'renamed' });
  });

  it('refuses a rewritten topic that is a shared subscription filter', () => {
    assert.equal(rewriteTopic(rule('#', 'x/', '$share/'), 'x/g/t').kind, 'invalid');
  });
});
