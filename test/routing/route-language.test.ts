import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageView, compileCondition, compileRoute, instantiateCondition, parseRoute, pointAtProblem, sourceCanMatch, type RouteProblem } from '../../src/hub/routing/index.js';

/** Lexing, parsing, sinks, sources and error positions of the route language (section 4.1-4.4). */

function evaluate(condition: string, properties: Record<string, string | null> = {}): string {
  const compiled = compileCondition(condition);
  if (!compiled.ok) return `CompileError: ${compiled.problem.reason}`;
  const view = new MessageView().reset({ source: '/messages/', body: new Uint8Array(0), properties, systemProperties: {}, enqueuedAtMs: 0 });
  return ({ 1: 'True', 0: 'Undefined', [-1]: 'False' } as Record<number, string>)[instantiateCondition(compiled.condition)(view) + 0]!;
}

function routeProblem(route: string): RouteProblem {
  const result = compileRoute(route);
  assert.equal(result.ok, false, `${route} compiled`);
  return result.ok ? assert.fail() : result.problem;
}

describe('route language: lexical traps kept from Azure', () => {
  it('reads operators without spaces as part of a property name', () => {
    assert.equal(evaluate("3+4 = '7'"), 'Undefined', '`3+4` is a property name');
    assert.match(evaluate('3+4 = 7'), /CompileError: invalid operands .*'string' and 'number'/);
    assert.equal(evaluate('3 + 4 = 7'), 'True');
    assert.equal(evaluate("key1!='x'", { 'key1!': 'x' }), 'True', '`key1!` is the name');
    assert.equal(evaluate("'a'||'b' = 'ab'"), 'Undefined', "`'a'||'b'` is one property name");
    assert.equal(evaluate("'a' || 'b' = 'ab'"), 'True');
    assert.equal(evaluate("'x'='x'"), 'True');
    assert.equal(evaluate('is_defined(-undefined)'), 'False', '`-undefined` is a property name');
    assert.equal(evaluate('-1 < 0'), 'True');
    assert.equal(evaluate("some-property = 'v' AND a.b = 'w'", { 'some-property': 'v', 'a.b': 'w' }), 'True');
  });

  it('keeps literals lower-case only and keywords case-insensitive', () => {
    assert.equal(evaluate('TRUE'), 'Undefined', 'TRUE is a property lookup');
    assert.equal(evaluate('true AnD NoT false'), 'True');
    assert.equal(evaluate("True = 'yes'", { true: 'yes' }), 'True');
    assert.equal(parseRoute('select * from /messages where true into $UPSTREAM').ok, true);
  });

  it('reads numbers as doubles: reals, exponents, overflow to infinity, 64-bit hex', () => {
    assert.equal(evaluate('10e1000 = 1/0'), 'True');
    assert.equal(evaluate('1e-6 < 0.00001 AND .5 = 0.5 AND -.5 = -0.5'), 'True');
    assert.equal(evaluate('0x10 = 16 AND 0XfF = 255'), 'True');
    assert.equal(evaluate('0xFFFFFFFFFFFFFFFF = -1'), 'True', 'hex is a signed 64-bit integer');
    assert.match(evaluate('0x10000000000000000 = 0'), /CompileError: '0x1.*' reads as a number literal but is not a valid number/);
    assert.match(evaluate("e5 = 'x'"), /CompileError: 'e5' reads as a number literal/);
  });

  it('unescapes \\" \\\' \\\\ and \\uXXXX left to right, and rejects other escapes', () => {
    assert.equal(evaluate("'it\\'s' = \"it's\""), 'True');
    assert.equal(evaluate("'\\u0041\\u00e9' = 'Aé'"), 'True');
    // Azure unescapes \uXXXX before \\, turning '\\u0041' into "\A"; Outpost reads it as \u0041.
    assert.equal(evaluate("length('\\\\u0041') = 6"), 'True');
    assert.match(evaluate("'a\\nb' = 'x'"), /CompileError: unterminated string: the only escapes are/);
  });

  it('binds NOT tighter than comparisons and ?? loosest, as in Azure', () => {
    assert.match(evaluate("NOT key1 = 'x'"), /CompileError: invalid operands to unary operator 'NOT'/);
    assert.equal(evaluate("NOT (key1 = 'x')", { key1: 'y' }), 'True');
    assert.match(evaluate('key1 ?? "x" = "y"'), /CompileError: invalid operands to binary operator '\?\?'/);
    assert.equal(evaluate('2 + 3 * 4 = 14 AND (2 + 3) * 4 = 20 AND 10 - 4 - 3 = 3 AND 2 * 3 < 7 OR false'), 'True');
    assert.equal(evaluate('false OR true AND false'), 'False', 'AND binds tighter than OR');
  });

  it('skips /* */ comments, but a "/*" needs its "*/"', () => {
    const parsed = parseRoute('FROM /messages /* all */ WHERE /* hot */ level = "hot" INTO $upstream /* done */');
    assert.ok(parsed.ok);
    assert.equal(parsed.route.condition, 'level = "hot"');
    const wildcard = parseRoute('FROM /* INTO $upstream');
    assert.ok(wildcard.ok, 'no closing */: "/*" is a path');
    assert.equal(wildcard.route.source, '/');
  });
});

describe('route language: statements, sinks and sources', () => {
  it('rejects text after the sink, where Azure silently ignores it (issue #4353)', () => {
    const problem = routeProblem("FROM /messages INTO $upstream WHERE temp = 'true'");
    assert.equal(problem.code, 'OUTPOST_ROUTE_SYNTAX');
    assert.equal(problem.offset, 30);
    assert.match(problem.reason, /unexpected 'WHERE' after the sink/);
    assert.match(routeProblem('FROM /messages INTO $upstream $upstream').reason, /after the sink/);
    assert.match(routeProblem('FROM /messages WHERE true false INTO $upstream').reason, /expected an operator or INTO but found 'false'/);
    assert.match(compileCondition('true false').ok ? '' : (compileCondition('true false') as { problem: RouteProblem }).problem.reason, /unexpected 'false' after the end of the condition/);
  });

  it('accepts $upstream and BrokeredEndpoint in any case, with either quote and surrounding space', () => {
    for (const [route, id] of [
      ['FROM /messages INTO $UpStream', '$upstream'],
      ["FROM /messages INTO brokeredendpoint(' /modules/m/inputs/i/ ')", '/modules/m/inputs/i'],
      ['FROM /messages INTO BROKEREDENDPOINT("modules/m/inputs/i")', '/modules/m/inputs/i'],
      ['FROM /messages INTO BrokeredEndpoint("/Modules/m/Inputs/i")', '/modules/m/inputs/i'],
    ] as const) {
      const compiled = compileRoute(route);
      assert.ok(compiled.ok, route);
      assert.equal(compiled.route.endpoint.id, id, route);
    }
  });

  it('rejects other sinks and malformed module input addresses', () => {
    assert.equal(routeProblem('FROM /messages INTO $downstream').code, 'OUTPOST_ROUTE_INVALID_SINK');
    assert.match(routeProblem('FROM /messages INTO Function("/modules/m/inputs/i")').reason, /unsupported endpoint function 'Function'/);
    assert.match(routeProblem('FROM /messages INTO BrokeredEndpoint("/modules/m/inputs")').reason, /four segments/);
    assert.match(routeProblem('FROM /messages INTO BrokeredEndpoint("/modules/m/inputs/i/x")').reason, /four segments/);
    assert.match(routeProblem('FROM /messages INTO BrokeredEndpoint("/a/b/c/d")').reason, /Outpost checks them/);
    assert.match(routeProblem('FROM /messages INTO BrokeredEndpoint("/modules//inputs/i")').reason, /empty module or input name/);
    assert.match(routeProblem('FROM /messages INTO upstream').reason, /did you mean '\$upstream'/);
  });

  it('normalizes FROM paths and warns when no message can match', () => {
    const compiled = compileRoute('FROM /messages/modules/adapter/* INTO $upstream');
    assert.ok(compiled.ok);
    assert.equal(compiled.route.source, '/messages/modules/adapter/');
    assert.deepEqual(compiled.route.warnings, []);
    const typo = compileRoute('FROM /message INTO $upstream');
    assert.ok(typo.ok, 'accepted, as in Azure');
    assert.match(typo.route.warnings[0]!, /matches no message source/);
    for (const source of ['/', '/messages/', '/messages/modules/', '/messages/modules/m/', '/messages/modules/m/outputs/', '/messages/modules/m/outputs/o/', '/twinchangenotifications/']) {
      assert.equal(sourceCanMatch(source), true, source);
    }
    for (const source of ['/message/', '/*/messages/', '/messages/events/', '/messages/modules/m/inputs/']) assert.equal(sourceCanMatch(source), false, source);
    assert.match(routeProblem('FROM /messages/ INTO $upstream').reason, /expected a path segment or '\*' after '\/'/);
  });

  it('points at the offending token by offset, line and column, across lines', () => {
    const route = 'FROM /messages\n  WHERE as_number(temp) > 50\n    AND lenght(name) = 3\n  INTO $upstream';
    const problem = routeProblem(route);
    assert.deepEqual({ code: problem.code, line: problem.line, column: problem.column, offset: problem.offset, length: problem.length }, {
      code: 'OUTPOST_ROUTE_TYPE',
      line: 3,
      column: 9,
      offset: route.indexOf('lenght'),
      length: 6,
    });
    assert.equal(problem.reason, "unknown built-in function 'lenght'");
    assert.equal(pointAtProblem(route, problem), '    AND lenght(name) = 3\n        ^^^^^^');
    const unterminated = routeProblem('FROM /messages WHERE a = "open INTO $upstream');
    assert.deepEqual([unterminated.column, unterminated.reason], [26, 'unterminated string: add the closing quote']);
    const symbol = routeProblem('FROM /messages WHERE a = @ INTO $upstream');
    assert.deepEqual([symbol.column, symbol.reason], [26, "invalid symbol '@'"]);
    assert.match(routeProblem('FROM /messages WHERE (a = "b" INTO $upstream').reason, /missing closing '\)' for the '\(' at offset 21/);
    assert.match(routeProblem('FROM /messages WHERE a[0] = 1 INTO $upstream').reason, /only \$body queries may contain '\['/);
  });
});
