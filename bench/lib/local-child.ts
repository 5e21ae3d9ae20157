// A 'local' scenario (a micro-benchmark: no broker) in a Node process of its own, so the JIT
// state and heap of the harness and of other scenarios do not colour its figures. Started by
// runLocal (below) with fork: argv = [scenario name, ScenarioOptions as JSON]; answers one IPC
// message, { outcome } or { error }, then exits.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LocalScenario, ScenarioOptions, ScenarioOutcome } from '../scenarios/scenario.js';

const SELF = fileURLToPath(import.meta.url);
/** Generous: the longest micro-benchmark takes well under a minute. */
const TIMEOUT_MS = 10 * 60_000;

type ChildAnswer = { outcome: ScenarioOutcome } | { error: string };

/** Runs `scenario` in a fresh child process; rejects with the child's error. */
export function runLocal(scenario: LocalScenario, options: ScenarioOptions): Promise<ScenarioOutcome> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [scenario.name, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: ChildAnswer | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('message', (message: ChildAnswer) => (answer = message));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (answer !== undefined && 'outcome' in answer) resolve(answer.outcome);
      else reject(new Error(answer?.error ?? `${scenario.name}: child exited with ${String(code ?? signal)} without a result`));
    });
  });
}

async function childMain(name: string, optionsJson: string): Promise<ChildAnswer> {
  // Imported here, not at the top: the harness imports this file for runLocal, and the scenario
  // list imports the harness's modules.
  const { findScenario } = await import('../scenarios/index.js');
  const scenario = findScenario(name);
  if (scenario?.kind !== 'local') return { error: `no local scenario "${name}"` };
  try {
    return { outcome: await scenario.run(JSON.parse(optionsJson) as ScenarioOptions) };
  } catch (error) {
    return { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

if (process.argv[1] === SELF && process.send !== undefined) {
  const answer = await childMain(process.argv[2] ?? '', process.argv[3] ?? '{}');
  process.send(answer, () => process.exit(0));
}
