import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageView, RouteTable, compileCondition, compileRouteTable, describeProblem, instantiateCondition } from '../../src/hub/routing/index.js';
import { caseSetup, cases, type ConditionCase } from './routing-cases.js';

/**
 * Every condition case of the Azure IoT Edge routing tests (ConditionCompilerTest, BodyQueryTest,
 * BodyQueryI18NTest, TwinChangeIncludesTest), evaluated against its fixture — once as a bare
 * condition and once inside a route through a RouteTable, where only True forwards.
 *
 * No case differs on purpose. Two kinds of case pass for a reason worth stating:
 * - twin_change_includes: Azure's EdgeHub rejects it in every route (it builds all routes with a
 *   custom source); Outpost, like Azure's routing unit tests, accepts it in routes FROM
 *   /twinChangeNotifications, so the T1 cases are evaluated with that source and the
 *   "telemetry source" case (FROM /messages) is a compile error.
 * - is_null($body.x): Azure answers True for every present value and False for a missing path (a
 *   reference-comparison bug); Outpost answers True only for null or missing. The one case
 *   (`is_null($body.message.Weather.NullValue)`, a JSON null) expects True under both.
 */

const RESULT = { 1: 'True', 0: 'Undefined', [-1]: 'False' } as Record<number, string>;

function evaluateBare(testCase: ConditionCase): string {
  const { message, routeSource } = caseSetup(testCase.fixture);
  const compiled = compileCondition(testCase.condition, { source: routeSource });
  if (!compiled.ok) return 'CompileError';
  const result = instantiateCondition(compiled.condition)(new MessageView().reset(message));
  return RESULT[result + 0] ?? `bad result ${String(result)}`;
}

describe(`routing conformance: ${cases.condition_cases.length} conditions (${cases.provenance.split(',')[0]})`, () => {
  it('has every case of the shared file', () => {
    assert.equal(cases.condition_cases.length, 736);
    assert.match(cases.provenance, /^Azure\/iotedge @[0-9a-f]{40}/);
  });

  const groups = new Map<string, { testCase: ConditionCase; number: number }[]>();
  cases.condition_cases.forEach((testCase, index) => {
    const list = groups.get(testCase.group) ?? [];
    list.push({ testCase, number: index + 1 });
    groups.set(testCase.group, list);
  });

  for (const [group, list] of groups) {
    describe(group, () => {
      for (const { testCase, number } of list) {
        it(`#${number} [${testCase.fixture}] ${JSON.stringify(testCase.condition)} → ${testCase.expected}`, () => {
          const got = evaluateBare(testCase);
          if (got !== testCase.expected && got === 'CompileError') {
            const { routeSource } = caseSetup(testCase.fixture);
            const compiled = compileCondition(testCase.condition, { source: routeSource });
            assert.fail(`compile error: ${compiled.ok ? '' : describeProblem(compiled.problem)}`);
          }
          assert.equal(got, testCase.expected);
        });
      }
    });
  }

  it('gives the same verdicts inside routes: a route forwards exactly the True cases', () => {
    let checked = 0;
    for (const testCase of cases.condition_cases) {
      if (testCase.expected === 'CompileError' || testCase.condition.trim() === '') continue;
      const { message, routeSource } = caseSetup(testCase.fixture);
      const data = compileRouteTable({ r: `FROM ${routeSource} WHERE ${testCase.condition} INTO $upstream` });
      assert.deepEqual(data.rejected, [], testCase.condition);
      const targets = RouteTable.fromData(data).route(message);
      assert.equal(targets.length, testCase.expected === 'True' ? 1 : 0, `${testCase.condition} expected ${testCase.expected}`);
      checked++;
    }
    assert.equal(checked, 736 - cases.condition_cases.filter((c) => c.expected === 'CompileError').length - 2);
  });

  it('rejects the CompileError cases inside routes too, with a position inside the condition', () => {
    for (const testCase of cases.condition_cases.filter((c) => c.expected === 'CompileError')) {
      const { routeSource } = caseSetup(testCase.fixture);
      const prefix = `FROM ${routeSource} WHERE `;
      const data = compileRouteTable({ r: `${prefix}${testCase.condition} INTO $upstream` });
      assert.equal(data.routes.length, 0, testCase.condition);
      const problem = data.rejected[0]?.problem;
      assert.ok(problem !== undefined, testCase.condition);
      assert.ok(problem.offset >= prefix.length && problem.offset <= prefix.length + testCase.condition.length + 1, `${testCase.condition}: ${describeProblem(problem)}`);
    }
  });
});
