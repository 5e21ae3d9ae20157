// micro-route-eval — route evaluation on one core, no broker (a 'local' scenario): the tables of
// bench/routing/route-eval.ts (issue 5's benchmark) measured through the harness.
//
// Measures messages/s through RouteTable.evaluateBatch in batches of 256, 4,096 fixed-seed
// messages, for four tables where every route has its own endpoint (no condition is skipped):
//   props-10, props-100  `$connectionDeviceId = 'dev-N' OR (level = 'hot' AND as_number(temp) > N)`
//   body-10, body-100    `$body.machine.temperature > N AND $body.machine.status = 'ok'` on a
//                        ~230-byte JSON body, parsed once per message (body-10 is the headline)
// beside two references in the same run: `<table>-hand` (the same conditions written by hand in one
// loop: a ceiling) and `body-10-parse-per-route` (JSON.parse per route and message).
// Metrics: propertyEvaluationsPerSec (props-100 × 100; issue 5: ≥ 2 M), body10VsHand,
// body10VsParsePerRoute.
// Run: npm run bench -- micro-route-eval [--quick]
import type { HubMessage } from '../../src/hub/message/index.js';
import { compileRouteTable, RouteTable } from '../../src/hub/routing/index.js';
import { BATCH, handWritten, makeMessages, routesOf, type Kind } from '../routing/route-eval.js';
import { consume, measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import type { LocalScenario } from './scenario.js';

const TABLES: readonly [Kind, number][] = [
  ['props', 10],
  ['props', 100],
  ['body', 10],
  ['body', 100],
];

function compiled(kind: Kind, count: number, messages: readonly HubMessage[]): VariantSpec {
  const data = compileRouteTable(routesOf(kind, count));
  if (data.rejected.length > 0) throw new Error(`routes rejected: ${JSON.stringify(data.rejected)}`);
  const table = RouteTable.fromData(data);
  const batches: HubMessage[][] = [];
  for (let i = 0; i < messages.length; i += BATCH) batches.push(messages.slice(i, i + BATCH));
  return {
    name: `${kind}-${count}`,
    what: `${count} ${kind === 'props' ? 'property' : '$body'} routes, compiled, evaluateBatch of ${BATCH}`,
    unit: 'messages',
    pass: () => {
      for (const batch of batches) consume(table.evaluateBatch(batch).routeIndexes.length);
      return messages.length;
    },
  };
}

function reference(kind: Kind, count: number, messages: readonly HubMessage[], parsePerRoute: boolean): VariantSpec {
  const evaluate = handWritten(kind, count, parsePerRoute);
  return {
    name: `${kind}-${count}-${parsePerRoute ? 'parse-per-route' : 'hand'}`,
    what: parsePerRoute ? 'by hand, JSON.parse per route and message' : 'the same conditions by hand in one loop (a ceiling)',
    unit: 'messages',
    pass: () => {
      for (const m of messages) consume(evaluate(m));
      return messages.length;
    },
  };
}

export const microRouteEval: LocalScenario = {
  kind: 'local',
  name: 'micro-route-eval',
  description: 'route evaluation, 10/100 property and $body routes, compiled vs by hand: messages/s',
  async run(options) {
    const props = makeMessages(false, options.seed);
    const bodies = makeMessages(true, options.seed);
    const variants: VariantSpec[] = [];
    for (const [kind, count] of TABLES) {
      const messages = kind === 'props' ? props : bodies;
      variants.push(compiled(kind, count, messages), reference(kind, count, messages, false));
    }
    variants.push(reference('body', 10, bodies, true));
    const timing = microTiming(options, { trials: 5, trialMs: 250, warmupMs: 250 });
    const measured = await measureVariants(variants, timing, 'body-10');
    const props100 = measured.find((v) => v.name === 'props-100')?.value ?? 0;
    return microOutcome({
      params: { messages: props.length, batch: BATCH, seed: options.seed },
      variants: measured,
      headline: 'body-10',
      timing,
      metrics: { propertyEvaluationsPerSec: props100 * 100 },
      ratios: [
        ['body10VsHand', 'body-10', 'body-10-hand'],
        ['body10VsParsePerRoute', 'body-10', 'body-10-parse-per-route'],
        ['props100VsHand', 'props-100', 'props-100-hand'],
      ],
    });
  },
};
