import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessHealthcheck } from '../../manifest/index.js';

/**
 * What the process runtime knows about one module, kept in <dir>/<id>.json so a restarted agent
 * can adopt the process instead of starting a second one. Like a container's config it holds
 * everything needed to start the module again — including its environment, which can carry
 * credentials, so the file is written 0600.
 */
export interface ProcessRecord {
  readonly id: string;
  readonly configHash: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly healthcheck: ProcessHealthcheck | undefined;
  state: 'created' | 'running' | 'exited';
  pid: number | undefined;
  /** Field 22 of /proc/<pid>/stat: tells our process from a later one that reused its pid. */
  startTicks: string | undefined;
  startedAtMs: number | undefined;
  finishedAtMs: number | undefined;
  exitCode: number | undefined;
}

export class ProcessRecordStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** File names encode the id: module ids may hold characters such as ':' or '*'. */
  private base(id: string): string {
    return join(this.dir, encodeURIComponent(id));
  }

  recordFile(id: string): string {
    return `${this.base(id)}.json`;
  }

  /** Written by the wrapper shell when the module exits: its exit code, for adopted modules. */
  exitFile(id: string): string {
    return `${this.base(id)}.exit`;
  }

  logFile(id: string): string {
    return `${this.base(id)}.log`;
  }

  loadAll(): ProcessRecord[] {
    const out: ProcessRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as ProcessRecord);
      } catch {
        // A torn write cannot happen (rename), but a hand-edited file can: skip it, the module
        // is then recreated from the deployment.
      }
    }
    return out;
  }

  save(record: ProcessRecord): void {
    const file = this.recordFile(record.id);
    writeFileSync(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  readExitCode(id: string): number | undefined {
    try {
      const code = Number.parseInt(readFileSync(this.exitFile(id), 'utf8').trim(), 10);
      return Number.isInteger(code) ? code : undefined;
    } catch {
      return undefined;
    }
  }

  clearExit(id: string): void {
    rmSync(this.exitFile(id), { force: true });
  }

  remove(id: string): void {
    for (const file of [this.recordFile(id), this.exitFile(id), this.logFile(id), `${this.logFile(id)}.1`]) rmSync(file, { force: true });
  }
}
