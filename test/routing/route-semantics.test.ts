import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemProperty, type HubMessage } from '../../src/hub/message/index.js';
import { MessageView, compileCondition, instantiateCondition } from '../../src/hub/routing/index.js';

/** Property resolution, $body rules, built-in edge cases and the deliberate differences from Azure. */

interface Input {
  properties?: Record<string, string | null>;
  systemProperties?: Record<string, string>;
  body?: Uint8Array | string;
  source?: string;
}

function evaluate(condition: string, input: Input = {}, routeSource?: string): string {
  const compiled = compileCondition(condition, routeSource === undefined ? {} : { source: routeSource });
  if (!compiled.ok) return `CompileError: ${compiled.problem.reason}`;
  const body = typeof input.body === 'string' ? new TextEncoder().encode(input.body) : (input.body ?? new Uint8Array(0));
  const message: HubMessage = { source: input.source ?? '/messages/', body, properties: input.properties ?? {}, systemProperties: input.systemProperties ?? {}, enqueuedAtMs: 0 };
  return ({ 1: 'True', 0: 'Undefined', [-1]: 'False' } as Record<number, string>)[instantiateCondition(compiled.condition)(new MessageView().reset(message)) + 0]!;
}

const JSON_UTF8 = { contentType: 'application/json', contentEncoding: 'utf-8' };
const json = (body: unknown, systemProperties: Record<string, string> = JSON_UTF8): Input => ({ body: JSON.stringify(body), systemProperties });

describe('route semantics: properties', () => {
  it('looks application and system properties up case-insensitively, exact case first', () => {
    assert.equal(evaluate("KEY1 = 'v' AND key1 = 'v'", { properties: { Key1: 'v' } }), 'True');
    assert.equal(evaluate("$CONTENTTYPE = 'x'", { systemProperties: { contentType: 'x' } }), 'True');
    assert.equal(evaluate("k = 'exact'", { properties: { K: 'folded', k: 'exact' } }), 'True');
    assert.equal(evaluate("ß = 'x'", { properties: { ss: 'x' } }), 'Undefined', 'no length-changing folds');
  });

  it('lets an application property named $x shadow the system property x, and {$x} force the system one', () => {
    const input = { properties: { $state: 'app' }, systemProperties: { state: 'sys' } };
    assert.equal(evaluate("$State = 'app' AND {$state} = 'sys' AND { $STATE } = 'sys'", input), 'True');
    assert.equal(evaluate("$state = 'sys'", { systemProperties: { state: 'sys' } }), 'True');
  });

  it('reads system properties under the names EdgeHub stores, correlation id as $cid', () => {
    assert.equal(SystemProperty.CorrelationId, 'cid');
    const input = { systemProperties: { [SystemProperty.CorrelationId]: 'c-1', [SystemProperty.ConnectionDeviceId]: 'dev', [SystemProperty.ConnectionModuleId]: 'mod' } };
    assert.equal(evaluate("$cid = 'c-1' AND $connectionDeviceId = 'dev' AND $connectionModuleId = 'mod'", input), 'True');
    assert.equal(evaluate('is_defined($correlationId)', input), 'False', 'undefined on the edge, as in EdgeHub');
  });

  it('treats a property without value as a null string', () => {
    const input = { properties: { flag: null } };
    assert.equal(evaluate("is_defined(flag) AND is_null(flag) AND NOT is_string(flag) AND 'a' || flag = 'a'", input), 'True');
    assert.equal(evaluate("flag = 'x'", input), 'Undefined');
    assert.equal(evaluate('is_defined(length(flag))', input), 'False');
  });

  it('rejects $name with [ ] outside $body (Azure reads it as undefined)', () => {
    assert.match(evaluate("$foo[0] = 'x'"), /CompileError: '\$foo\[0\]': only \$body queries/);
  });
});

describe('route semantics: $body queries', () => {
  const body = { a: { t: 50, s: 'text', n: null, ok: true, arr: [1, [2, 3], { k: 'v' }], when: '2017-03-09T00:00:00.000Z', x: 1 } };

  it('reads numbers, strings, booleans, nulls, array items and nested arrays', () => {
    assert.equal(evaluate("$body.a.t = 50 AND $body.a.s = 'text' AND $body.a.n = null AND $body.a.ok AND $body.a.arr[1][0] = 2 AND $body.a.arr[2].k = 'v'", json(body)), 'True');
    assert.equal(evaluate('$body.a.missing = null AND $body.a.arr[9] = null AND $body.a.t.deeper = null', json(body)), 'True', 'a missing path is null');
    assert.equal(evaluate("$body.a.t = '50'", json(body)), 'False', 'no implicit conversion');
    assert.equal(evaluate("$body.a.when <> 'x'", json(body)), 'Undefined', 'Json.NET reads it as a date');
    assert.equal(evaluate("$body.a.when2 <> 'x'", json({ a: { when2: '2017-13-09T00:00:00' } })), 'True', 'not a valid date: a string');
    assert.equal(evaluate('$body.a.arr = null', json(body)), 'Undefined', 'arrays and objects are Undefined');
  });

  it('needs contentType application/json exactly (any case) and a utf-8/16/32 contentEncoding', () => {
    const text = JSON.stringify(body);
    assert.equal(evaluate('$body.a.x = 1', { body: text, systemProperties: { contentType: 'APPLICATION/JSON', contentEncoding: 'UTF-8' } }), 'True');
    assert.equal(evaluate('$body.a.x = 1', { body: text, systemProperties: { contentType: 'application/json;charset=utf-8', contentEncoding: 'utf-8' } }), 'Undefined');
    assert.equal(evaluate('$body.a.x = 1', { body: text, systemProperties: { contentType: 'application/json' } }), 'Undefined');
    assert.equal(evaluate('$body.a.x = 1', { body: text, systemProperties: { contentType: 'application/json', contentEncoding: 'latin1' } }), 'Undefined');
    assert.equal(evaluate('$body.a.x = 1', { body: Buffer.from(text, 'utf16le'), systemProperties: { contentType: 'application/json', contentEncoding: 'utf-16' } }), 'True');
    const utf32 = Buffer.alloc(text.length * 4);
    [...text].forEach((c, i) => utf32.writeUInt32LE(c.codePointAt(0)!, i * 4));
    assert.equal(evaluate('$body.a.x = 1', { body: utf32, systemProperties: { contentType: 'application/json', contentEncoding: 'utf-32' } }), 'True');
    assert.equal(evaluate('$body.a.x = 1', { body: '{"a": {"x": 1}', systemProperties: JSON_UTF8 }), 'Undefined', 'invalid JSON');
    assert.equal(evaluate('$body.a = 1', { body: '[{"a": 1}]', systemProperties: JSON_UTF8 }), 'Undefined', 'the root must be an object');
  });

  it('lets an application property named $body.x win unless the query is escaped or indexed', () => {
    const input = { ...json({ x: 1, arr: [5] }), properties: { '$body.x': '100', '$body.arr[0]': 'app' } };
    assert.equal(evaluate("$body.x = '100' AND {$body.x} = 1 AND $body.arr[0] = 5", input), 'True');
    assert.equal(evaluate('$body.x = 1', { ...json({ x: 1 }), systemProperties: { ...JSON_UTF8, '$body.x': 'ignored' } }), 'True', 'a system property of that name is ignored');
  });

  it('rejects paths Json.NET would not read as one value', () => {
    for (const path of ['$body.', '$body.a..b', '$body.a[]', '$body.a[x]', '$body.a.*', '$body.a.0', '$body.a[0]x']) {
      assert.match(evaluate(`${path} = 1`), /CompileError: invalid \$body query/, path);
    }
    assert.equal(evaluate("$body.Welcome!.I'm%1 = 'x'", json({ 'Welcome!': { "I'm%1": 'x' } })), 'True');
  });

  it('does arithmetic and comparisons on $body values and type-orders mixed comparisons', () => {
    assert.equal(evaluate('$body.a + $body.b = 5 AND $body.a % 2 = 0 AND - $body.a = -2 AND $body.a < $body.s', json({ a: 2, b: 3, s: 'x' })), 'True');
    assert.equal(evaluate('$body.a + $body.s = 5', json({ a: 2, s: 'x' })), 'Undefined');
    assert.equal(evaluate('$body.t AND true', json({ t: true })), 'True');
    assert.equal(evaluate('$body.t AND false', json({ t: 'yes' })), 'Undefined', 'a non-boolean $body value is Undefined in AND');
  });
});

describe('route semantics: built-ins', () => {
  it('maps case one character to one character (ToUpperInvariant)', () => {
    assert.equal(evaluate("upper('straße') = 'STRAßE' AND lower('ÀÉ') = 'àé' AND upper('abc') = 'ABC'"), 'True');
  });

  it('parses numbers as .NET does with NumberStyles.Any', () => {
    const cases: [string, string][] = [
      [' 1,234.5 ', '1234.5'], ['(5)', '-5'], ['5-', '-5'], ['+7', '7'], ['1e400', '1/0'], ['-Infinity', '-1/0'], ['¤3', '3'], ['.5', '0.5'], ['5.', '5'],
    ];
    for (const [text, value] of cases) assert.equal(evaluate(`as_number('${text}') = ${value}`), 'True', text);
    for (const text of ['abc', '', '1 2', '--1', '(5', '0x10', 'NaN', '1e']) assert.equal(evaluate(`is_defined(as_number('${text}'))`), 'False', text);
  });

  it('follows Math.Pow for ±1 to an infinite power', () => {
    assert.equal(evaluate('power(1, 1/0) = 1 AND power(-1, -1/0) = 1 AND power(2, 10) = 1024'), 'True');
  });

  it('truncates fractional substring positions like (int) in C#', () => {
    assert.equal(evaluate("substring('abcdef', 1.9) = 'bcdef' AND substring('abcdef', 1.5, 2.5) = 'bc'"), 'True');
  });

  it('answers is_null on $body values for null and missing only (Azure: True for any present value)', () => {
    const input = json({ n: null, t: 50 });
    assert.equal(evaluate('is_null($body.n) AND is_null($body.missing) AND NOT is_null($body.t)', input), 'True');
  });

  it('accepts twin_change_includes only FROM /twinChangeNotifications, with a properties./tags. path', () => {
    const twin = { ...json({ properties: { reported: { a: { b: null } } }, tags: { site: 'x' } }), source: '/twinChangeNotifications/' };
    assert.equal(evaluate('twin_change_includes(properties.reported.a.b) AND twin_change_includes(tags.site)', twin, '/twinChangeNotifications/*'), 'True');
    assert.equal(evaluate('twin_change_includes(properties.reported.c)', twin, '/twinChangeNotifications'), 'False');
    assert.match(evaluate('twin_change_includes(properties.reported.a)', twin, '/*'), /CompileError: 'twin_change_includes' is only valid in routes FROM \/twinChangeNotifications/);
    assert.match(evaluate('twin_change_includes(reported.a)', twin, '/twinChangeNotifications'), /must start with 'properties\.reported\.'/);
  });
});
