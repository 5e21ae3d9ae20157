/**
 * What the "managed from above" tests share: a child edge device's system module twins as a hub
 * above it holds them (read over its control socket), waiting for the child's report of the
 * current desired version, and the process runtime's record of a module on the child.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HubControlClient } from '../../src/hub/control/index.js';
import { retryUntil } from './relay-harness.js';

export interface SystemTwin {
  readonly desired: Record<string, any> & { $version: number };
  readonly reported: Record<string, any>;
}

/** `<edgeDeviceId>/<moduleId>`'s twin as the hub behind `control` holds it. */
export async function systemTwin(control: HubControlClient, edgeDeviceId: string, moduleId: string): Promise<SystemTwin> {
  const answer = await control.call('GET', `/v1/twins/${edgeDeviceId}/modules/${encodeURIComponent(moduleId)}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as { properties: SystemTwin }).properties;
}

/** Waits until the child reported for the desired version the hub above holds now, and `accept` holds. */
export function reportedAbove(control: HubControlClient, edgeDeviceId: string, moduleId: string, what: string, accept: (twin: SystemTwin) => boolean, timeoutMs = 60_000): Promise<SystemTwin> {
  return retryUntil(`${edgeDeviceId}/${moduleId} above: ${what}`, async () => {
    const twin = await systemTwin(control, edgeDeviceId, moduleId);
    return twin.reported.lastDesiredVersion === twin.desired.$version && accept(twin) ? twin : undefined;
  }, timeoutMs, 200);
}

/** The pid of a process module on the child, from the process runtime's record. */
export function modulePid(childDataDir: string, moduleId: string): number {
  return (JSON.parse(readFileSync(join(childDataDir, 'agent', 'processes', `${moduleId}.json`), 'utf8')) as { pid: number }).pid;
}

/** Whether a module process runs (a zombie does not). */
export { isAlive as alive } from '../agent/module-output.js';
