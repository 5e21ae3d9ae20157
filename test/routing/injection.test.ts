import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HubMessage } from '../../src/hub/message/index.js';
import { MessageView, RouteTable, compileCondition, compileRouteTable, instantiateCondition, type CompiledConditionData } from '../../src/hub/routing/index.js';

/**
 * Route conditions become JavaScript functions. These tests prove that nothing a route author or a
 * device controls — string literals, property names, $body paths, JSON bodies — can become code or
 * reach a prototype.
 */

const canary = globalThis as { __outpostInjected?: unknown };
after(() => assert.equal(canary.__outpostInjected, undefined, 'injected code ran'));

function message(properties: Record<string, string | null>, body?: string, systemProperties: Record<string, string> = {}): HubMessage {
  const sys = body === undefined ? systemProperties : { contentType: 'application/json', contentEncoding: 'utf-8', ...systemProperties };
  return { source: '/messages/', body: new TextEncoder().encode(body ?? ''), properties, systemProperties: sys, enqueuedAtMs: 0 };
}

function run(condition: string, msg: HubMessage): number {
  const compiled = compileCondition(condition);
  assert.ok(compiled.ok, `${condition} did not compile`);
  assertNoUserText(compiled.condition);
  return instantiateCondition(compiled.condition)(new MessageView().reset(msg)) + 0;
}

/** The generated code holds no quote, backslash, template or brace: user text lives in constants. */
function assertNoUserText(data: CompiledConditionData): void {
  assert.doesNotMatch(data.code, /['"`\\{}[\];=]/, data.code);
  assert.doesNotMatch(data.code, /\u2028|\u2029|\n/, data.code);
}

const HOSTILE_STRINGS = [
  "'); globalThis.__outpostInjected = 1; ('",
  '"); globalThis.__outpostInjected = 1; ("',
  '${globalThis.__outpostInjected = 1}',
  '`; globalThis.__outpostInjected = 1; `',
  '*/ globalThis.__outpostInjected = 1; /*',
  '\\',
  '\\\\',
  'line\nbreak',
  'sep\u2028arator\u2029',
  '</script><script>globalThis.__outpostInjected = 1</script>',
  '__proto__',
  'constructor',
];

/** A route string literal for any text: single-quoted, with the language's escapes. */
function literal(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

describe('route compiler injection safety', () => {
  it('compares hostile string literals as data, byte for byte', () => {
    for (const text of HOSTILE_STRINGS) {
      assert.equal(run(`key = ${literal(text)}`, message({ key: text })), 1, text);
      assert.equal(run(`key = ${literal(text)}`, message({ key: `${text}x` })), -1, text);
      assert.equal(run(`length(${literal(text)}) = ${text.length}`, message({})), 1, text);
    }
  });

  it('uses hostile double-quoted literals and \\u escapes as data', () => {
    assert.equal(run('key = "\\"); globalThis.__outpostInjected = 1; (\\""', message({ key: '"); globalThis.__outpostInjected = 1; ("' })), 1);
    assert.equal(run("key = '\\u0027\\u0022\\u005c'", message({ key: '\'"\\' })), 1);
  });

  it('uses property names made of every character an ID allows as data', () => {
    // IDs may contain quotes, backticks, $, !, |, &, %, *, +, -, ., # and U+2028: all legal JS
    // punctuation that would break out of generated code if it were spliced in.
    const names = ["a'b", 'a`b`c', 'a$b', "x'+globalThis.__outpostInjected+'", 'a\u2028b', 'a\u2029b', 'a!b|c&d%e*f+g-h.i#j', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
    for (const name of names) {
      const props = JSON.parse(JSON.stringify({ [name]: 'v' })) as Record<string, string>;
      assert.equal(run(`${name} = 'v'`, message(props)), 1, name);
      assert.equal(run(`is_defined(${name})`, message({})), -1, name);
      assert.equal(run(`$${name} = 'v'`, message({}, undefined, { [name]: 'v' })), 1, `$${name}`);
    }
  });

  it('never reaches prototypes: inherited names are missing, own "__proto__" keys are data', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '__defineGetter__']) {
      assert.equal(run(`is_defined(${name})`, message({})), -1, name);
      assert.equal(run(`is_defined(${name.toUpperCase()})`, message({})), -1, name);
      assert.equal(run(`is_defined($${name})`, message({})), -1, `$${name}`);
      assert.equal(run(`is_defined({$${name}})`, message({})), -1, `{$${name}}`);
    }
    const own = JSON.parse('{"__proto__": "mine", "constructor": "also mine"}') as Record<string, string>;
    assert.equal(run("__proto__ = 'mine' AND constructor = 'also mine'", message(own)), 1);
    assert.equal(run("__PROTO__ = 'mine' AND CONSTRUCTOR = 'also mine'", message(own)), 1);
  });

  it('ignores enumerable properties added to Object.prototype (prototype pollution elsewhere)', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 'yes';
    try {
      assert.equal(run('is_defined(polluted)', message({ other: 'x' })), -1);
      assert.equal(run('is_defined(POLLUTED)', message({ other: 'x' })), -1);
      assert.equal(run('is_defined($polluted)', message({ other: 'x' })), -1);
      assert.equal(run('$body.polluted = null', message({}, '{"a": 1}')), 1, 'missing, not the inherited value');
    } finally {
      delete proto.polluted;
    }
  });

  it('walks $body paths through own keys only and never pollutes Object.prototype', () => {
    const body = '{"__proto__": {"polluted": 1}, "constructor": {"name": "mine"}, "a": {}}';
    assert.equal(run('$body.__proto__.polluted = 1', message({}, body)), 1);
    assert.equal(run("$body.constructor.name = 'mine'", message({}, body)), 1);
    assert.equal(run('$body.a.constructor = null', message({}, body)), 1, 'missing path, not Object');
    assert.equal(run('$body.a.__proto__ = null', message({}, body)), 1);
    assert.equal(run('$body.a.toString = null', message({}, body)), 1);
    assert.equal(run('is_defined($body.a.hasOwnProperty)', message({}, body)), 1, 'a missing path is Null, which is defined');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("keeps twin_change_includes paths and route names out of the code", () => {
    const data = compileRouteTable({
      "r'); globalThis.__outpostInjected = 1; ('": "FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.a'b`c) INTO BrokeredEndpoint('/modules/m\"x/inputs/i')",
    });
    assert.equal(data.rejected.length, 1, 'the name is invalid ($, space) but harmless');
    const ok = compileRouteTable({
      r1: "FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.a'b`c) INTO BrokeredEndpoint('/modules/m\"x/inputs/i')",
    });
    assert.deepEqual(ok.rejected, []);
    assertNoUserText(ok.routes[0]!.compiled);
    const table = RouteTable.fromData(ok);
    const twin = { ...message({}, '{"properties": {"reported": {"a\'b`c": 1}}}'), source: '/twinChangeNotifications/' };
    assert.deepEqual(table.route(twin).map((t) => t.endpoint.id), ['/modules/m"x/inputs/i']);
  });

  it('refuses tampered compiled data instead of running it', () => {
    const base = { alwaysTrue: false, usesBody: false };
    const attempts: CompiledConditionData[] = [
      { ...base, code: 'process.exit(1)', constants: [] },
      { ...base, code: 'globalThis.__outpostInjected', constants: [] },
      { ...base, code: "eq(cmpS(k0, 'x'))", constants: ['a'] },
      { ...base, code: 'k0', constants: [] },
      { ...base, code: 'eq(cmpS(v.p(k0, k1), k2)); globalThis.__outpostInjected = 1', constants: ['a', 'A', 'b'] },
      { ...base, code: 'v.constructor', constants: [] },
      { ...base, code: 'x.p(k0, k1)', constants: ['a', 'A'] },
      { ...base, code: 'Function(k0)()', constants: ['globalThis.__outpostInjected = 1'] },
      { ...base, code: 'this', constants: [] },
    ];
    for (const data of attempts) assert.throws(() => instantiateCondition(data), /refusing condition code/, data.code);
    // In a table, the tampered route alone is dropped and reported; the others still route.
    const data = compileRouteTable({ a: "FROM /messages WHERE a = 'b' INTO $upstream", b: 'FROM /messages INTO BrokeredEndpoint("/modules/m/inputs/i")' });
    const tampered = { ...data, routes: data.routes.map((r) => (r.name === 'a' ? { ...r, compiled: { ...r.compiled, code: 'process.exit(1)' } } : r)) };
    const table = RouteTable.fromData(tampered);
    assert.deepEqual(table.rejected.map((r) => [r.name, r.error.code]), [['a', 'OUTPOST_INTERNAL']]);
    assert.deepEqual(table.route(message({ a: 'b' })).map((t) => t.route), ['b']);
    // The legitimate form of the same shape is accepted.
    assert.equal(instantiateCondition({ ...base, code: 'eq(cmpS(v.p(k0, k1), k2))', constants: ['a', 'A', 'b'] })(new MessageView().reset(message({ a: 'b' }))), 1);
  });
});
