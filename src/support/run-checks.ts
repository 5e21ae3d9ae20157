import type { RuntimeKind } from '../agent/index.js';
import { deploymentFileOf } from '../agent/index.js';
import { certificateChecks } from './certificate-checks.js';
import { result, type CheckResult, type CheckStatus } from './check-result.js';
import { configurationCheck, deploymentChecks, routesToUpstream, type LoadedOrProblems } from './config-checks.js';
import { clockCheck, containerEngineCheck, diskCheck, upstreamCheck } from './host-checks.js';
import { dataDirCheck, hubPortsCheck } from './hub-checks.js';
import { findRunningHub } from './running-hub.js';

export interface CheckReport {
  readonly result: Exclude<CheckStatus, 'skip'>;
  readonly counts: Readonly<Record<CheckStatus, number>>;
  readonly checks: readonly CheckResult[];
}

export interface RunChecksInput {
  readonly config: LoadedOrProblems;
  /** A manifest named on the command line: still checked when the configuration does not load. */
  readonly deploymentFile?: string;
  readonly nowMs?: number;
}

/**
 * `outpost check`: configuration, the deployment (the validation `outpost deploy` applies), then
 * what Azure's `iotedge check` verifies where it applies to Outpost (docs/operations.md lists
 * each check). Every check runs; none stops the others.
 */
export async function runChecks(input: RunChecksInput): Promise<CheckReport> {
  const nowMs = input.nowMs ?? Date.now();
  const checks: CheckResult[] = [configurationCheck(input.config)];
  const config = input.config.ok ? input.config.loaded.config : undefined;
  const file = config === undefined ? input.deploymentFile : deploymentFileOf(config);
  const runtime: RuntimeKind | undefined = config?.agent.runtime;
  const deployment = file === undefined ? undefined : deploymentChecks(file, runtime);
  if (deployment !== undefined) checks.push(...deployment.checks);
  if (config === undefined) {
    for (const [id, title] of [
      ['certificates', 'TLS certificates present and not expiring'],
      ['hub-ports', 'hub reachable on each enabled port'],
      ['data-dir-lock', 'data directory not in use by another process'],
      ['container-engine', 'container engine reachable'],
      ['store-disk-space', 'disk space for the store'],
      ['clock', 'clock sanity'],
    ] as const) {
      checks.push(result(id, title, 'skip', 'not checked: the configuration did not load'));
    }
  } else {
    checks.push(...certificateChecks(config, nowMs));
    const hub = await findRunningHub(config.dataDir);
    checks.push(await hubPortsCheck(config, hub));
    checks.push(dataDirCheck(config, hub));
    checks.push(await containerEngineCheck(config));
    checks.push(diskCheck(config));
    checks.push(clockCheck(config, nowMs));
  }
  checks.push(upstreamCheck(routesToUpstream(deployment?.manifest)));
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) counts[check.status]++;
  return { result: counts.fail > 0 ? 'fail' : counts.warn > 0 ? 'warn' : 'pass', counts, checks };
}
