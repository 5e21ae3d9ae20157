import { readFileSync } from 'node:fs';
import type { Agent } from '../../src/agent/index.js';

/** Follows a module's output until `text` appears (deadline), and returns what was read. */
export async function waitForOutput(agent: Agent, id: string, text: string, timeoutMs = 10_000): Promise<string> {
  const abort = new AbortController();
  const stream = await agent.runtime.logs(id, { follow: true, signal: abort.signal });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${JSON.stringify(text)} in the output of ${id}; got: ${seen.slice(-500)}`));
    }, timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(text)) {
        clearTimeout(timer);
        abort.abort();
        resolve(seen);
      }
    });
  });
}

/** The runtime's handle on a module (process: "pid N"; docker: the container id). */
export async function detailOf(agent: Agent, id: string): Promise<string | undefined> {
  return (await agent.runtime.list()).find((m) => m.id === id)?.detail;
}

export async function pidOf(agent: Agent, id: string): Promise<number | undefined> {
  const detail = await detailOf(agent, id);
  const match = detail === undefined ? null : /^pid (\d+)$/.exec(detail);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Whether `pid` runs. A zombie does not: a module the test process itself spawned (an agent run
 * in-process) stays a zombie until Node's event loop reaps it, and `kill(pid, 0)` still succeeds
 * on it — once seen as "stopped with the agent" failing right after a stop that had worked.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
