// The benchmark harness.
//   npm run bench                                  all scenarios × outpost, mosquitto, aedes
//   npm run bench -- <scenario> [<scenario> …]     only these scenarios
//     --target outpost|mosquitto|aedes|rabbitmq|node-floor|host:port   (repeatable, or comma-separated; rabbitmq: the AMQP 1.0 peer of the amqp-* scenarios, node-floor: a bare Node server for the storm scenarios; neither a default)
//     --quick                                      shorter windows and counts (smoke runs)
//     --loadgen c|node                             load generator (default c, built with the system cc;
//                                                  falls back to node, with a warning, when it cannot be built)
//     --seed N  --duration SEC  --warmup SEC  --clients N
//     --mosquitto-max-inflight N                   Mosquitto's max_inflight_messages (default 20)
//     --qos1-refill N                              QoS 1 publishers refill after N free slots (default 1)
//     --outpost-arg ARG                            extra argument for `outpost hub` (repeatable)
//     --outpost-node-arg ARG                       extra argument for the hub's node, e.g. --outpost-node-arg=--cpu-prof (repeatable)
//     --outpost-root DIR                           run the Outpost built in DIR (another checkout, e.g. the gate's cached
//                                                  baseline under /tmp/outpost-gate-cache/<commit>) with this harness
//     --out FILE                                   results file (default bench/results/<timestamp>.json)
//     --markdown                                   also print the table as Markdown
//     --list                                       list the scenarios and exit
// Writes the JSON results file (schema: bench/lib/result-schema.ts) and prints a table. Exits 1
// when a scenario failed on a target that was available; an unavailable target (not installed,
// or not speaking MQTT yet) is reported in the table and the file but does not fail the run.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCLoadgen } from './lib/c-loadgen.js';
import type { LoadgenKind } from './lib/children.js';
import { runPlan } from './lib/harness.js';
import { formatMarkdown, formatTable } from './lib/table.js';
import { AMQP_PEER_TARGETS, FLOOR_TARGETS, NAMED_TARGETS, parseHostPort } from './lib/targets.js';
import { findScenario, SCENARIOS, type Scenario } from './scenarios/index.js';

export const DEFAULT_SEED = 20_240_601;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliPlan {
  readonly scenarios: Scenario[];
  readonly targets: string[];
  readonly quick: boolean;
  readonly loadgen: LoadgenKind;
  readonly seed: number;
  readonly durationSec?: number;
  readonly warmupSec?: number;
  readonly clients?: number;
  readonly qos1RefillMin?: number;
  readonly mosquittoMaxInflight?: number;
  readonly outpostArgs: string[];
  readonly outpostNodeArgs: string[];
  readonly outpostRoot?: string;
  readonly out?: string;
  readonly markdown: boolean;
  readonly list: boolean;
}

function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${text}"`);
  return value;
}

/** An --outpost-root that holds a built Outpost (its launcher and compiled hub), as an absolute path. */
function outpostRoot(dir: string): string {
  const root = resolve(dir);
  if (!existsSync(join(root, 'bin', 'outpost.js')) || !existsSync(join(root, 'dist', 'src'))) {
    throw new Error(`--outpost-root ${dir} is not a built Outpost checkout (no bin/outpost.js or dist/src there)`);
  }
  return root;
}

/** Parses the command line; throws with a message naming the bad argument. */
export function parseCli(argv: readonly string[]): CliPlan {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      target: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      loadgen: { type: 'string', default: 'c' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      clients: { type: 'string' },
      'mosquitto-max-inflight': { type: 'string' },
      'qos1-refill': { type: 'string' },
      'outpost-arg': { type: 'string', multiple: true },
      'outpost-node-arg': { type: 'string', multiple: true },
      'outpost-root': { type: 'string' },
      out: { type: 'string' },
      markdown: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
    },
  });
  const scenarios = positionals.length === 0 ? [...SCENARIOS] : positionals.map((name) => {
    const found = findScenario(name);
    if (found === undefined) throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return found;
  });
  const targets = (values.target ?? [...NAMED_TARGETS]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  for (const t of targets) {
    if (![...NAMED_TARGETS, ...AMQP_PEER_TARGETS, ...FLOOR_TARGETS].includes(t as never) && parseHostPort(t) === undefined) {
      throw new Error(`unknown target "${t}": use ${[...NAMED_TARGETS, ...AMQP_PEER_TARGETS, ...FLOOR_TARGETS].join(', ')} or host:port`);
    }
  }
  const loadgen = values.loadgen ?? 'c';
  if (loadgen !== 'c' && loadgen !== 'node') throw new Error(`--loadgen must be c or node, got "${loadgen}"`);
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
  const clients = positiveNumber('clients', values.clients);
  const inflight = positiveNumber('mosquitto-max-inflight', values['mosquitto-max-inflight']);
  const refill = positiveNumber('qos1-refill', values['qos1-refill']);
  return {
    scenarios,
    targets,
    quick: values.quick ?? false,
    loadgen,
    seed,
    ...(values.duration === undefined ? {} : { durationSec: positiveNumber('duration', values.duration) }),
    ...(values.warmup === undefined ? {} : { warmupSec: positiveNumber('warmup', values.warmup) }),
    ...(clients === undefined ? {} : { clients: Math.floor(clients) }),
    ...(inflight === undefined ? {} : { mosquittoMaxInflight: Math.floor(inflight) }),
    ...(refill === undefined ? {} : { qos1RefillMin: Math.floor(refill) }),
    outpostArgs: values['outpost-arg'] ?? [],
    outpostNodeArgs: values['outpost-node-arg'] ?? [],
    ...(values['outpost-root'] === undefined ? {} : { outpostRoot: outpostRoot(values['outpost-root']) }),
    ...(values.out === undefined ? {} : { out: values.out }),
    markdown: values.markdown ?? false,
    list: values.list ?? false,
  };
}

/** bench/results/2024-06-01T12-00-00Z.json */
export function defaultResultsPath(now = new Date()): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return join(REPO_ROOT, 'bench', 'results', `${stamp}.json`);
}

async function main(argv: readonly string[]): Promise<number> {
  let plan: CliPlan;
  try {
    plan = parseCli(argv);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  if (plan.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(25)} ${s.description}\n`);
    return 0;
  }
  let loadgen = plan.loadgen;
  if (loadgen === 'c') {
    const built = buildCLoadgen();
    if (built instanceof Error) {
      process.stderr.write(`bench: WARNING: C load generator unavailable (${built.message}); using the Node one, which costs more CPU per message\n`);
      loadgen = 'node';
    }
  }
  process.stderr.write(`bench: ${plan.scenarios.map((s) => s.name).join(', ')} × ${plan.targets.join(', ')}${plan.quick ? ' (quick)' : ''}, ${loadgen} load generator\n`);
  const file = await runPlan({
    scenarios: plan.scenarios,
    targets: plan.targets,
    options: {
      quick: plan.quick,
      loadgen,
      seed: plan.seed,
      ...(plan.durationSec === undefined ? {} : { durationSec: plan.durationSec }),
      ...(plan.warmupSec === undefined ? {} : { warmupSec: plan.warmupSec }),
      ...(plan.clients === undefined ? {} : { clients: plan.clients }),
      ...(plan.qos1RefillMin === undefined ? {} : { qos1RefillMin: plan.qos1RefillMin }),
    },
    targetOptions: {
      ...(plan.mosquittoMaxInflight === undefined ? {} : { mosquittoMaxInflight: plan.mosquittoMaxInflight }),
      outpostArgs: plan.outpostArgs,
      outpostNodeArgs: plan.outpostNodeArgs,
      ...(plan.outpostRoot === undefined ? {} : { outpostRoot: plan.outpostRoot }),
    },
    onSkip: (scenario, why) => process.stderr.write(`bench: ${scenario.name} skipped: it ${why} (this run's targets: ${plan.targets.join(', ')})\n`),
    onResult: (r) => {
      const figure = r.status === 'ok' ? `${r.throughput.value.toFixed(0)} ${r.throughput.unit}` : `${r.status}: ${r.error ?? ''}`;
      process.stderr.write(`bench: ${r.scenario} / ${r.target}: ${figure}\n`);
    },
  });
  const out = plan.out ?? defaultResultsPath();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  process.stdout.write(`${formatTable(file.results)}\n\nresults: ${relative(process.cwd(), out) || out}\n`);
  if (plan.markdown) process.stdout.write(`\n${formatMarkdown(file.results)}\n`);
  return file.results.some((r) => r.status === 'error') ? 1 : 0;
}

// Run only as the entry point, so the test can import parseCli.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
