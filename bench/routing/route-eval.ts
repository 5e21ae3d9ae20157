/**
 * Scenario `route-eval`: route evaluation throughput on one core (issue 5 targets: ≥ 2 M
 * property-condition evaluations/s, ≥ 300 k messages/s through 10 `$body` routes).
 *
 * Four tables, each route to its own endpoint so no condition is skipped by the priority shortcut:
 *   - props-10 / props-100: `$connectionDeviceId = 'dev-N' OR (level = 'hot' AND as_number(temp) > N)`
 *   - body-10 / body-100:   `$body.machine.temperature > N AND $body.machine.status = 'ok'` on a
 *                           ~230-byte JSON body (application/json, utf-8), parsed once per message
 * Messages (fixed seed) go through RouteTable.evaluateBatch in batches of 256, as a shard gets
 * them. Reported: messages/s and condition evaluations/s (messages × routes), median of 7 trials
 * of ~300 ms after a warm-up, with two reference peers measured in the same run so ratios are
 * comparable across machines (STYLE.md, Benchmarks):
 *   - hand-written: the same conditions written by hand in one loop (a ceiling, not a goal: V8
 *     hoists the loop-invariant property reads out of that loop, which per-route functions cannot)
 *   - parse-per-route: the body scenarios with JSON.parse per route and message (no parse-once)
 * Output: one JSON object on stdout.
 *
 * Run: npx tsc -p . && node dist/bench/routing/route-eval.js
 * The same tables also run through the harness: `npm run bench -- micro-route-eval`
 * (bench/scenarios/micro-route-eval.ts imports the inputs from here).
 */
import { fileURLToPath } from 'node:url';
import type { HubMessage } from '../../src/hub/message/index.js';
import { RouteTable, compileRouteTable } from '../../src/hub/routing/index.js';

export const SEED = 20_240_601;
export const BATCH = 256;
const MESSAGES = 4_096;
const TRIALS = 7;
const TRIAL_MS = 300;
const encoder = new TextEncoder();

function random(seed: number): () => number {
  // mulberry32: small, fast, and the same sequence on every machine.
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function makeMessages(withBody: boolean, seed = SEED): HubMessage[] {
  const next = random(seed);
  return Array.from({ length: MESSAGES }, (_, i) => {
    const temperature = Math.round(next() * 1000) / 10;
    const body = withBody
      ? JSON.stringify({ machine: { id: `m-${i % 50}`, temperature, pressure: Math.round(next() * 2000), status: next() < 0.9 ? 'ok' : 'fault' }, ts: 1_700_000_000_000 + i, tags: ['line-1', 'cell-4'] })
      : '';
    return {
      source: i % 4 === 0 ? '/messages/modules/filter/outputs/out1/' : '/messages/',
      body: encoder.encode(body),
      properties: { level: next() < 0.5 ? 'hot' : 'cold', temp: String(Math.round(next() * 100)), site: 'plant-7' },
      systemProperties: {
        connectionDeviceId: `dev-${Math.floor(next() * 200)}`,
        messageId: `msg-${i}`,
        ...(withBody ? { contentType: 'application/json', contentEncoding: 'utf-8' } : {}),
      },
      enqueuedAtMs: 1_700_000_000_000 + i,
    };
  });
}

export type Kind = 'props' | 'body';

export function routesOf(kind: Kind, count: number): Record<string, string> {
  const routes: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const condition = kind === 'props' ? `$connectionDeviceId = 'dev-${i}' OR (level = 'hot' AND as_number(temp) > ${i % 100})` : `$body.machine.temperature > ${i % 100} AND $body.machine.status = 'ok'`;
    routes[`r${i}`] = `FROM /messages/* WHERE ${condition} INTO BrokeredEndpoint("/modules/m${i}/inputs/in")`;
  }
  return routes;
}

/** The same conditions written by hand: what a perfect compiler could reach. */
export function handWritten(kind: Kind, count: number, parsePerRoute: boolean): (m: HubMessage) => number {
  const decoder = new TextDecoder();
  const thresholds = Array.from({ length: count }, (_, i) => i % 100);
  const devices = Array.from({ length: count }, (_, i) => `dev-${i}`);
  if (kind === 'props') {
    return (m) => {
      let hits = 0;
      for (let i = 0; i < count; i++) {
        if (m.systemProperties.connectionDeviceId === devices[i] || (m.properties.level === 'hot' && Number(m.properties.temp) > thresholds[i]!)) hits++;
      }
      return hits;
    };
  }
  type Body = { machine: { temperature: number; status: string } };
  return (m) => {
    let hits = 0;
    let body = parsePerRoute ? undefined : (JSON.parse(decoder.decode(m.body)) as Body);
    for (let i = 0; i < count; i++) {
      if (parsePerRoute) body = JSON.parse(decoder.decode(m.body)) as Body;
      if (body!.machine.temperature > thresholds[i]! && body!.machine.status === 'ok') hits++;
    }
    return hits;
  };
}

let sink = 0;

/** Messages per second: median of TRIALS trials, each running whole passes over the messages. */
function measure(pass: () => number): number {
  for (let i = 0; i < 3; i++) sink += pass();
  const rates: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    let messages = 0;
    const start = process.hrtime.bigint();
    let elapsedNs = 0n;
    while (elapsedNs < BigInt(TRIAL_MS) * 1_000_000n) {
      messages += pass();
      elapsedNs = process.hrtime.bigint() - start;
    }
    rates.push(messages / (Number(elapsedNs) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(TRIALS / 2)]!;
}

function scenario(kind: Kind, count: number) {
  const messages = makeMessages(kind === 'body');
  const data = compileRouteTable(routesOf(kind, count));
  if (data.rejected.length > 0) throw new Error(`routes rejected: ${JSON.stringify(data.rejected)}`);
  const table = RouteTable.fromData(data);
  const batches: HubMessage[][] = [];
  for (let i = 0; i < messages.length; i += BATCH) batches.push(messages.slice(i, i + BATCH));
  const compiled = measure(() => {
    for (const batch of batches) sink += table.evaluateBatch(batch).routeIndexes.length;
    return messages.length;
  });
  const reference = handWritten(kind, count, false);
  const hand = measure(() => {
    for (const m of messages) sink += reference(m);
    return messages.length;
  });
  const routedPerMessage = table.evaluateBatch(messages).routeIndexes.length / messages.length;
  const result: Record<string, number | string> = {
    routes: count,
    messagesPerSec: Math.round(compiled),
    evaluationsPerSec: Math.round(compiled * count),
    handWrittenMessagesPerSec: Math.round(hand),
    ratioToHandWritten: Number((compiled / hand).toFixed(3)),
    endpointsPerMessage: Number(routedPerMessage.toFixed(2)),
  };
  if (kind === 'body') {
    const perRoute = handWritten(kind, count, true);
    const naive = measure(() => {
      for (const m of messages) sink += perRoute(m);
      return messages.length;
    });
    result.parsePerRouteMessagesPerSec = Math.round(naive);
    result.ratioToParsePerRoute = Number((compiled / naive).toFixed(2));
  }
  return result;
}

function compileTime(): number {
  const routes = routesOf('body', 100);
  const start = process.hrtime.bigint();
  for (let i = 0; i < 10; i++) RouteTable.fromData(compileRouteTable(routes));
  return Number(process.hrtime.bigint() - start) / 1e6 / 10;
}

function main(): void {
  const results = {
    scenario: 'route-eval',
    node: process.version,
    seed: SEED,
    batch: BATCH,
    targets: { propertyEvaluationsPerSec: 2_000_000, bodyMessagesPerSecWith10Routes: 300_000 },
    'props-10': scenario('props', 10),
    'props-100': scenario('props', 100),
    'body-10': scenario('body', 10),
    'body-100': scenario('body', 100),
    compileAndInstantiate100RoutesMs: Number(compileTime().toFixed(2)),
    rssBytes: process.memoryUsage().rss,
  };
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  if (sink === 0.5) process.stdout.write('\n');
}

// Run only as the entry point, so the harness's scenario can import the inputs.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
