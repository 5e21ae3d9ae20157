import { mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, type ReportedProperties } from '../../src/agent/index.js';
import { loadConfig, type OutpostConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';

/**
 * Runs a real Agent in this process against a real module runtime, with a fast backoff, and
 * waits on its reports (events with deadlines; no sleeps).
 */

export type ModuleReport = Record<string, unknown> & {
  runtimeStatus?: string;
  restartCount?: number;
  exitCode?: number;
  lastStartTimeUtc?: string;
  statusDescription?: string;
};

export interface AgentUnderTest {
  readonly agent: Agent;
  readonly config: OutpostConfig;
  readonly logs: Record<string, unknown>[];
  module(id: string): ModuleReport | undefined;
  /** Resolves with the first report (current or future) that satisfies the predicate. */
  until(what: string, predicate: (reported: ReportedProperties) => boolean, timeoutMs?: number): Promise<ReportedProperties>;
  /** Every report seen so far, oldest first. */
  readonly history: ReportedProperties[];
}

export function tempDir(prefix: string): string {
  // realpath: /tmp may be a symlink, and socket paths must stay short.
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function agentConfig(dataDir: string, deployment: string, settings: Record<string, string> = {}): OutpostConfig {
  const all: Record<string, string> = {
    dataDir,
    'agent.deployment': deployment,
    'agent.restartBackoffBase': '200ms',
    'agent.restartBackoffMax': '2s',
    'agent.stopTimeout': '3s',
    'agent.healthyResetAfter': '10m',
    ...settings,
  };
  const flags = Object.entries(all).map(([path, text]) => ({ flag: `--set ${path}`, path, text }));
  return loadConfig({ env: {}, flags, configFile: null }).config;
}

export async function startAgent(config: OutpostConfig, hostEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' }): Promise<AgentUnderTest> {
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const agent = await Agent.start({ config, logger, hostEnv, version: 'test' });
  const history: ReportedProperties[] = [];
  const waiters = new Set<() => void>();
  agent.onReport((reported) => {
    history.push(reported);
    for (const wake of waiters) wake();
  });
  if (agent.reported !== undefined) history.push(agent.reported);
  return {
    agent,
    config,
    logs,
    history,
    module: (id) => agent.reported?.modules[id] as ModuleReport | undefined,
    until(what, predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const current = agent.reported;
          if (current !== undefined && predicate(current)) {
            done();
            resolve(current);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast report: ${JSON.stringify(agent.reported, null, 1)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Writes a file the way editors do (write a temporary file, rename it over the old one). */
export function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ModuleDef {
  readonly type?: string;
  readonly status?: string;
  readonly restartPolicy?: string;
  readonly startupOrder?: number;
  readonly imagePullPolicy?: string;
  readonly env?: Record<string, string>;
  readonly settings: Record<string, unknown>;
}

/** An Azure deployment manifest with these modules. */
export function manifestText(modules: Record<string, ModuleDef>, runtimeType = 'docker', registryCredentials: Record<string, unknown> = {}): string {
  const agentModules: Record<string, unknown> = {};
  for (const [id, m] of Object.entries(modules)) {
    agentModules[id] = {
      version: '1.0',
      type: m.type ?? 'docker',
      status: m.status ?? 'running',
      restartPolicy: m.restartPolicy ?? 'always',
      ...(m.startupOrder === undefined ? {} : { startupOrder: m.startupOrder }),
      ...(m.imagePullPolicy === undefined ? {} : { imagePullPolicy: m.imagePullPolicy }),
      settings: m.settings,
      ...(m.env === undefined ? {} : { env: Object.fromEntries(Object.entries(m.env).map(([k, v]) => [k, { value: v }])) }),
    };
  }
  return JSON.stringify(
    {
      modulesContent: {
        $edgeAgent: {
          'properties.desired': {
            schemaVersion: '1.1',
            runtime: { type: runtimeType, settings: { minDockerVersion: 'v1.25', registryCredentials } },
            systemModules: { edgeAgent: { type: 'docker', settings: { image: 'outpost/agent' } }, edgeHub: { type: 'docker', status: 'running', restartPolicy: 'always', settings: { image: 'outpost/hub' } } },
            modules: agentModules,
          },
        },
        $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: {}, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
      },
    },
    null,
    2,
  );
}
