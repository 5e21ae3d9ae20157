import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RestartRecord } from '../plan/index.js';

/**
 * The agent's own bookkeeping in <dataDir>/agent/state.json: restart counts (so a crash-looping
 * module keeps its backoff across agent restarts, like Azure's moduleState store) and the local
 * desired version (a counter standing in for the twin's $version, bumped when the manifest's
 * content changes).
 */
export interface AgentState {
  restarts: Record<string, RestartRecord>;
  desiredVersion: number;
  desiredHash: string | undefined;
}

export class AgentStateStore {
  private state: AgentState;
  private written = '';

  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.state = { restarts: {}, desiredVersion: 0, desiredHash: undefined };
    try {
      const text = readFileSync(file, 'utf8');
      const parsed = JSON.parse(text) as Partial<AgentState>;
      this.state = { restarts: parsed.restarts ?? {}, desiredVersion: parsed.desiredVersion ?? 0, desiredHash: parsed.desiredHash };
      this.written = text;
    } catch {
      // Missing or unreadable: start with clean counts (the worst case is a shorter first backoff).
    }
  }

  get restarts(): ReadonlyMap<string, RestartRecord> {
    return new Map(Object.entries(this.state.restarts));
  }

  setRestarts(restarts: ReadonlyMap<string, RestartRecord>): void {
    this.state.restarts = Object.fromEntries(restarts);
    this.flush();
  }

  /** Bumps the version when the content hash differs from the last one; returns the version. */
  desiredVersionFor(hash: string): number {
    if (this.state.desiredHash !== hash) {
      this.state.desiredVersion += 1;
      this.state.desiredHash = hash;
      this.flush();
    }
    return this.state.desiredVersion;
  }

  private flush(): void {
    const text = JSON.stringify(this.state);
    if (text === this.written) return;
    writeFileSync(`${this.file}.tmp`, text);
    renameSync(`${this.file}.tmp`, this.file);
    this.written = text;
  }
}
