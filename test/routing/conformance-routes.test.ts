import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRoute, describeProblem, normalizeSource, parseRoute, sourceMatches } from '../../src/hub/routing/index.js';
import { MESSAGE_SOURCES, cases } from './routing-cases.js';

/**
 * The route cases of Azure IoT Edge's MessageSourceTest and RouteFactoryTest: source matching,
 * route parsing and routes that must be rejected.
 *
 * Intentional differences, stated per case below:
 * - RouteFactoryTest parses `BrokeredEndpoint("/a/b/c/d")`; Outpost parses it too, but rejects it
 *   when compiling because Outpost requires "/modules/<m>/inputs/<i>" (Azure ignores segments 0
 *   and 2 and would route to input d of module b).
 */

describe(`routing conformance: ${cases.source_cases.length} source matches`, () => {
  for (const [index, testCase] of cases.source_cases.entries()) {
    it(`#${index + 1} FROM ${testCase.route_source} vs ${testCase.message_source} → ${testCase.expected}`, () => {
      const messageSource = MESSAGE_SOURCES[testCase.message_source];
      assert.ok(messageSource !== undefined, testCase.message_source);
      assert.equal(sourceMatches(testCase.route_source, messageSource), testCase.expected);
    });
  }
});

describe(`routing conformance: ${cases.route_parse_cases.length} route parses`, () => {
  for (const [index, testCase] of cases.route_parse_cases.entries()) {
    it(`#${index + 1} ${JSON.stringify(testCase.route)}`, () => {
      const parsed = parseRoute(testCase.route);
      assert.ok(parsed.ok, parsed.ok ? '' : describeProblem(parsed.problem));
      const { route } = parsed;
      // The case file gives some sources with and some without the trailing '/'; Azure's test
      // compares CustomMessageSource objects, which are equal after normalization.
      assert.equal(route.source, normalizeSource(testCase.source));
      assert.equal(route.condition, testCase.condition);
      if (testCase.endpoint_kind === 'system') {
        assert.deepEqual(route.sink.kind, 'system');
        assert.equal(route.sink.name, testCase.endpoint);
      } else {
        assert.equal(route.sink.kind, 'function');
        assert.ok(route.sink.kind === 'function');
        assert.equal(route.sink.name, testCase.function);
        assert.equal(route.sink.address, testCase.address);
      }
    });
  }

  it('compiles the cases whose conditions are well typed, and rejects the rest as EdgeHub does', () => {
    const results = cases.route_parse_cases.map((testCase) => ({ route: testCase.route, result: compileRoute(testCase.route) }));
    const rejected = results.filter((r) => !r.result.ok);
    // `temp > 100`, `humidity = 50`, `temp >= 200` compare string properties with numbers: a type
    // error in Azure too (RouteFactoryTest only parses). Plus the intentional /a/b/c/d difference.
    for (const { route, result } of rejected) {
      assert.ok(!result.ok);
      if (route.includes('"/a/b/c/d"')) {
        assert.equal(result.problem.code, 'OUTPOST_ROUTE_INVALID_SINK', 'intentional: Outpost checks the modules/inputs segments');
      } else {
        assert.equal(result.problem.code, 'OUTPOST_ROUTE_TYPE', route);
        assert.match(result.problem.reason, /have 'string' and 'number'/);
      }
    }
    assert.equal(rejected.length, 7);
    assert.equal(results.filter((r) => r.result.ok).length, 14);
  });
});

describe(`routing conformance: ${cases.route_invalid_cases.length} invalid routes`, () => {
  for (const [index, testCase] of cases.route_invalid_cases.entries()) {
    it(`#${index + 1} rejects ${JSON.stringify(testCase.route)} with a position`, () => {
      const parsed = parseRoute(testCase.route);
      assert.equal(parsed.ok, false);
      assert.ok(!parsed.ok);
      assert.equal(parsed.problem.code, 'OUTPOST_ROUTE_SYNTAX');
      assert.ok(parsed.problem.offset >= 0 && parsed.problem.offset <= testCase.route.length);
      assert.equal(parsed.problem.line, 1);
      assert.equal(parsed.problem.column, parsed.problem.offset + 1);
      assert.ok(parsed.problem.reason.length > 10);
      assert.equal(compileRoute(testCase.route).ok, false);
    });
  }
});
