// The harness side of the load generator: starts child processes (the C generator, or the Node
// one in bench/loadgen/child.ts), waits for their messages with deadlines, and makes sure none
// outlives the run. Both kinds speak the messages of bench/loadgen/protocol.ts: the Node one over
// Node's IPC channel, the C one as JSON lines on stdout with commands as lines on stdin.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isNodeOnlyRole, type ChildConfig, type ChildMessage, type ChildReport, type ParentMessage, type StormReport } from '../loadgen/protocol.js';
import { buildCLoadgen, cLoadgenArgs } from './c-loadgen.js';

export type LoadgenKind = 'c' | 'node';
const NODE_CHILD = fileURLToPath(new URL('../loadgen/child.js', import.meta.url));

/** Reads a generator's stdout as JSON lines of ChildMessage (the C generators' side of the protocol); an unreadable line becomes an error message. */
export function receiveJsonLines(child: ChildProcess, who: string, receive: (message: ChildMessage) => void): void {
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        receive(JSON.parse(line) as ChildMessage);
      } catch {
        receive({ type: 'error', message: `unreadable line from ${who}: ${line.slice(0, 200)}` });
      }
    }
  });
}

/**
 * A load generator process as the harness sees it: its messages in an inbox, waits on them with
 * deadlines, its stderr tail and its end. The Node generator speaks over Node's IPC channel; the C
 * ones (MQTT, AMQP) as JSON lines on stdout with commands as lines on stdin.
 */
export class GeneratorProcess {
  private readonly inbox: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private exitInfo: string | undefined;
  private stderrText = '';

  /** `jsonLinesFrom`: the C generator's name for unreadable-line errors; undefined for the IPC channel. */
  constructor(readonly name: string, readonly process: ChildProcess, private readonly jsonLinesFrom: string | undefined) {
    if (jsonLinesFrom === undefined) process.on('message', (message: ChildMessage) => this.receive(message));
    else {
      receiveJsonLines(process, jsonLinesFrom, (message) => this.receive(message));
      // A write after the child died must not crash the harness; the exit is reported instead.
      process.stdin?.on('error', () => undefined);
    }
    process.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-4000);
    });
    // 'close', not 'exit': 'exit' can come before the last stdout data (the final report) is read.
    process.on('close', (code, signal) => {
      this.exitInfo = `exited with ${String(code ?? signal)}`;
      this.wake();
    });
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error(`${this.name}: not started`);
    return pid;
  }

  send(message: ParentMessage): void {
    if (this.exitInfo !== undefined) return;
    if (this.jsonLinesFrom === undefined) {
      if (this.process.connected) this.process.send(message);
    } else {
      this.process.stdin?.write(message.type === 'mark' ? `mark ${message.phase}\n` : `${message.type}\n`);
    }
  }

  /** Resolves with the first message of `type`; rejects on an 'error' message, exit or deadline. */
  waitFor<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const index = this.inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (index >= 0) {
          const [message] = this.inbox.splice(index, 1);
          done();
          if (message?.type === 'error') reject(new Error(`${this.name}: ${message.message}`));
          else resolve(message as Extract<ChildMessage, { type: T }>);
        } else if (this.exitInfo !== undefined) {
          done();
          reject(new Error(`${this.name} ${this.exitInfo} before '${type}'${this.stderrText ? `: ${this.stderrText.trim()}` : ''}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  kill(): void {
    if (this.exitInfo === undefined) this.process.kill('SIGKILL');
  }

  private receive(message: ChildMessage): void {
    this.inbox.push(message);
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export class LoadgenChild extends GeneratorProcess {
  readonly kind: LoadgenKind;

  constructor(name: string, kind: LoadgenKind, config: ChildConfig) {
    // A role the C generator lacks (TLS module clients) runs in the Node one whatever was asked.
    const actual = isNodeOnlyRole(config) ? 'node' : kind;
    super(name, startLoadgen(actual, config), actual === 'node' ? undefined : 'the C load generator');
    this.kind = actual;
  }
}

function startLoadgen(kind: LoadgenKind, config: ChildConfig): ChildProcess {
  if (kind === 'node') return fork(NODE_CHILD, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  const binary = buildCLoadgen();
  if (binary instanceof Error) throw binary;
  return spawn(binary, cLoadgenArgs(config), { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A set of load generator processes run together. */
export class LoadgenGroup {
  readonly children: LoadgenChild[] = [];

  constructor(readonly kind: LoadgenKind) {}

  add(name: string, config: ChildConfig): LoadgenChild {
    const child = new LoadgenChild(name, this.kind, config);
    this.children.push(child);
    return child;
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid);
  }

  async allReady(children: readonly LoadgenChild[], timeoutMs = 30_000): Promise<void> {
    await Promise.all(children.map((c) => c.waitFor('ready', timeoutMs)));
  }

  broadcast(message: ParentMessage, children: readonly LoadgenChild[] = this.children): void {
    for (const child of children) child.send(message);
  }

  /** Sends 'stop' and collects one report from each child. */
  async stopAll(children: readonly LoadgenChild[], timeoutMs = 15_000): Promise<ChildReport[]> {
    this.broadcast({ type: 'stop' }, children);
    const messages = await Promise.all(children.map((c) => c.waitFor('report', timeoutMs)));
    return messages.map((m) => m.report);
  }

  async connectedAll(children: readonly LoadgenChild[], timeoutMs: number): Promise<StormReport[]> {
    const messages = await Promise.all(children.map((c) => c.waitFor('connected', timeoutMs)));
    return messages.map((m) => m.report);
  }

  killAll(): void {
    for (const child of this.children) child.kill();
  }
}
