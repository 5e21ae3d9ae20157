// The benchmark gate: `npm run bench:gate` (about 2 minutes on the 2-core machine).
//
// Runs the scenarios named in bench/baselines.json against the candidate (Outpost) and the
// reference peer (Mosquitto), alternating them, ROUNDS times with short windows, and judges the
// figures with bench/lib/gate-check.ts: ratios measured in the same run against the committed
// baselines, with a tolerance for the noise of a shared 2-core machine. Writes the results to
// bench/results/gate-<timestamp>.json and prints one line per check.
// Exit codes: 0 all checks pass; 1 a check failed (the line names the scenario and the figures);
// 3 the candidate or the reference was unavailable (not installed, not built, or not speaking
// MQTT): never a silent pass; 2 bad arguments or baselines file.
//   npm run bench:gate [-- --candidate outpost|host:port] [--reference mosquitto] [--rounds N]
// Not part of .ci/run yet: the lead wires it in once the Outpost broker is committed.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCLoadgen } from './lib/c-loadgen.js';
import { evaluateGate, parseBaselines, type GateRound } from './lib/gate-check.js';
import { runOne } from './lib/harness.js';
import { findScenario, type ScenarioOptions } from './scenarios/index.js';
import type { ScenarioResult } from './lib/result-schema.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASELINES = join(REPO_ROOT, 'bench', 'baselines.json');
const GATE_SEED = 20_240_601;
const DEFAULT_ROUNDS = 2;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      candidate: { type: 'string' },
      reference: { type: 'string' },
      rounds: { type: 'string' },
      baselines: { type: 'string' },
    },
  });
  let baselines;
  try {
    baselines = parseBaselines(JSON.parse(readFileSync(values.baselines ?? BASELINES, 'utf8')));
  } catch (error) {
    process.stderr.write(`bench:gate: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const candidate = values.candidate ?? baselines.candidate;
  const reference = values.reference ?? baselines.reference;
  const rounds = values.rounds === undefined ? DEFAULT_ROUNDS : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write('bench:gate: --rounds must be a positive integer\n');
    return 2;
  }
  const built = buildCLoadgen();
  if (built instanceof Error) process.stderr.write(`bench:gate: WARNING: C load generator unavailable (${built.message}); using the Node one\n`);
  const options: ScenarioOptions = { quick: false, loadgen: built instanceof Error ? 'node' : 'c', seed: GATE_SEED, warmupSec: 0.5, durationSec: 2 };

  const scenarioNames = [...new Set(baselines.checks.map((c) => c.scenario))];
  const byScenario = new Map<string, GateRound[]>();
  const all: ScenarioResult[] = [];
  const started = Date.now();
  for (const name of scenarioNames) {
    const scenario = findScenario(name);
    if (scenario === undefined) {
      process.stderr.write(`bench:gate: baselines name unknown scenario "${name}"\n`);
      return 2;
    }
    const list: GateRound[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so a slow drift of the machine does not favour one side.
      const order = round % 2 === 0 ? [candidate, reference] : [reference, candidate];
      const results = new Map<string, ScenarioResult>();
      for (const target of order) {
        const result = await runOne(scenario, target, options, {});
        results.set(target, result);
        all.push(result);
        const figure = result.status === 'ok' ? `${result.throughput.value.toFixed(0)} ${result.throughput.unit}` : `${result.status}: ${result.error ?? ''}`;
        process.stderr.write(`bench:gate: ${name} / ${target} (round ${round + 1}): ${figure}\n`);
      }
      list.push({ candidate: results.get(candidate)!, reference: results.get(reference)! });
      // The candidate being unavailable will not change in the next round.
      if (results.get(candidate)?.status === 'unavailable' || results.get(reference)?.status === 'unavailable') break;
    }
    byScenario.set(name, list);
  }

  const verdict = evaluateGate({ ...baselines, candidate, reference }, byScenario);
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const out = join(REPO_ROOT, 'bench', 'results', `gate-${stamp}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ candidate, reference, rounds, tolerance: baselines.tolerance, verdict, results: all }, null, 2)}\n`);
  for (const line of verdict.lines) process.stdout.write(`${line}\n`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (verdict.status === 'unavailable') {
    process.stdout.write(`bench:gate: TARGET UNAVAILABLE — the gate could not judge every check (${seconds} s; ${out})\n`);
    return 3;
  }
  process.stdout.write(`bench:gate: ${verdict.status === 'pass' ? 'PASS' : 'FAIL'} (${seconds} s; ${out})\n`);
  return verdict.status === 'pass' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:gate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
