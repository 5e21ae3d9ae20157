import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { arch, hostname, platform, release } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { agentDirOf, ControlClient, controlSocketOf, deploymentFileOf, type LogWindow } from '../agent/index.js';
import { describeOrigin, type LoadedConfig } from '../config/index.js';
import { HUB_CONTROL_SOCKET } from '../hub/control/index.js';
import { inspectStore } from '../hub/store/index.js';
import { VERSION } from '../version.js';
import { fileLog, journalLog, moduleLog, type CollectedLog } from './bundle-logs.js';
import { redactText, redactValue } from './redact.js';
import { runChecks } from './run-checks.js';
import { findRunningHub, getJson } from './running-hub.js';
import { TarWriter } from './tar-writer.js';

/** The hub renders its metrics at once; this bounds a hung one. */
const METRICS_TIMEOUT_MS = 10_000;

export interface SupportBundleOptions {
  readonly loaded: LoadedConfig;
  readonly window: LogWindow;
  /** systemd unit whose journal holds the hub's and agent's log; null: not asked. */
  readonly journalUnit: string | null;
  /** Files holding the hub's and agent's standard output (when not under systemd). */
  readonly logFiles: readonly string[];
  readonly nowMs?: number;
}

export interface BundleIndex {
  readonly createdAt: string;
  readonly outpost: string;
  readonly window: { readonly since: string | null; readonly until: string | null };
  readonly files: { file: string; source: string }[];
  readonly notCollected: { item: string; reason: string }[];
}

/**
 * `outpost support-bundle`: one tar.gz with what a support engineer asks for first (Azure's
 * `iotedge support-bundle`): logs of the hub, agent and modules within a window, the configuration
 * and the deployment with every secret redacted (redact.ts), the reported status, metrics, store
 * statistics, the output of `outpost check`, and versions. Files holding secrets (identities,
 * private keys) are never read into it; every text that goes in is redacted once more.
 */
export async function buildSupportBundle(options: SupportBundleOptions): Promise<{ archive: Buffer; index: BundleIndex; root: string }> {
  const { loaded, window } = options;
  const { config } = loaded;
  const nowMs = options.nowMs ?? Date.now();
  const root = `outpost-support-${new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const index: BundleIndex = { createdAt: new Date(nowMs).toISOString(), outpost: VERSION, window: { since: iso(window.sinceMs), until: iso(window.untilMs) }, files: [], notCollected: [] };
  const files = new Map<string, string>();
  // JSON files are redacted value by value (redactValue), which keeps them JSON; text (logs,
  // metrics) line by line.
  const add = (file: string, text: string, source: string) => {
    files.set(file, file.endsWith('.json') ? text : redactText(text));
    index.files.push({ file, source });
  };
  const json = (value: unknown) => `${JSON.stringify(redactValue(value), null, 2)}\n`;
  const missing = (item: string, reason: string) => index.notCollected.push({ item, reason });

  const hub = await findRunningHub(config.dataDir);
  const agent = new ControlClient(controlSocketOf(config));
  let reported: Record<string, unknown> | undefined;
  let agentRunning = false;
  try {
    const answer = await agent.call('GET', '/v1/status');
    if (answer.status === 200) {
      reported = answer.body as Record<string, unknown>;
      agentRunning = true;
    }
  } catch {
    agentRunning = false;
  }
  const reportedFile = join(agentDirOf(config), 'reported.json');
  if (reported !== undefined) add('status/reported.json', json(reported), 'the running agent ($edgeAgent reported properties)');
  else if (existsSync(reportedFile)) {
    reported = JSON.parse(readFileSync(reportedFile, 'utf8')) as Record<string, unknown>;
    add('status/reported.json', json(reported), `${reportedFile} (the last report: no agent is running)`);
  } else missing('reported status', 'no agent is running and none has reported on this data directory');
  if (hub.status !== undefined) add('status/hub.json', json(hub.status), 'the running hub (its control socket)');
  else missing('hub status', 'no hub is running on this data directory');

  add('versions.json', json(await versions(config.agent.runtime === 'docker' ? config.agent.dockerSocket : undefined, hub.status?.version, reported)), 'this process, the hub, the agent, the container engine');
  add('check.json', json(await runChecks({ config: { ok: true, loaded }, nowMs })), '`outpost check`');
  add('config/effective.json', json(config), `the effective configuration (defaults, ${loaded.configFile ?? 'no config file'}, environment, flags)`);
  add('config/origins.json', json(Object.fromEntries([...loaded.origins].map(([path, origin]) => [path, describeOrigin(origin)]))), 'where each setting came from');

  // The manifest the agent reads, and the one `outpost deploy` put in force over it, if any.
  for (const [name, file, source] of [
    ['desired/configured.json', deploymentFileOf(config), 'agent.deployment'],
    ['desired/deployed.json', join(agentDirOf(config), 'deployment.json'), '`outpost deploy` (in force until the configured file changes)'],
  ] as const) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    let body: string;
    try {
      body = json(JSON.parse(text));
    } catch {
      // Not JSON (the agent refuses it): kept as text, redacted as text.
      body = redactText(text);
    }
    add(name, body, `${file}: ${source}`);
  }

  if (hub.status !== undefined) {
    const metrics = (await getJson(join(config.dataDir, HUB_CONTROL_SOCKET), '/v1/metrics', METRICS_TIMEOUT_MS)) as { text?: string } | undefined;
    if (typeof metrics?.text === 'string') add('metrics.txt', metrics.text, 'the running hub (Prometheus text, as GET /metrics serves it)');
    else missing('metrics', config.metrics.enabled || config.metrics.plain ? 'the hub did not answer with its metrics' : 'metrics are off (metrics.enabled=false)');
  } else missing('metrics', 'no hub is running: metrics live in its memory');

  if (!config.store.persistent) missing('store statistics', 'store.persistent is false: the queues live in the hub\'s memory');
  else {
    try {
      add('store-stats.json', json(await inspectStore(config.store.dir)), `\`outpost store stats\` of ${config.store.dir}`);
    } catch (error) {
      missing('store statistics', (error as Error).message);
    }
  }

  const moduleIds = new Set(Object.keys((reported?.modules as Record<string, unknown> | undefined) ?? {}));
  for (const id of moduleIds) {
    const log = await moduleLog(config, id, window, agentRunning);
    addLog(`logs/modules/${encodeURIComponent(id)}.log`, log, `module ${id}`);
  }
  if (options.journalUnit !== null) addLog(`logs/outpost/journal-${options.journalUnit}.log`, journalLog(options.journalUnit, window), 'hub and agent (journal)');
  for (const file of options.logFiles) addLog(`logs/outpost/${basename(file)}`, await fileLog(file, window), `hub and agent (${file})`);
  if (options.journalUnit === null && options.logFiles.length === 0) missing('hub and agent log', 'they log to standard output: name the systemd unit (--journal-unit) or the file it goes to (--log-file)');

  function addLog(file: string, log: CollectedLog | string, item: string): void {
    if (typeof log === 'string') missing(item, log);
    else add(file, log.text, log.source);
  }

  const tar = new TarWriter();
  for (const [file, text] of files) tar.addFile({ name: `${root}/${file}`, data: Buffer.from(text), mtimeMs: nowMs });
  tar.addFile({ name: `${root}/bundle.json`, data: Buffer.from(`${JSON.stringify(index, null, 2)}\n`), mtimeMs: nowMs });
  return { archive: gzipSync(tar.finish()), index, root };
}

async function versions(dockerSocket: string | undefined, hubVersion: string | undefined, reported: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
  return {
    outpost: VERSION,
    hub: hubVersion ?? null,
    agent: (reported?.version as { version?: string } | undefined)?.version ?? null,
    node: process.versions,
    os: { platform: platform(), release: release(), arch: arch(), hostname: hostname() },
    containerEngine: dockerSocket === undefined ? null : await engineVersion(dockerSocket),
  };
}

function engineVersion(socketPath: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/version', agent: false, timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(body);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', (error) => resolve(`not reachable: ${error.message}`));
    req.end();
  });
}
