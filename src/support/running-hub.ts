import { join } from 'node:path';
import { DataDirLock, type LockHolder } from '../fs/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../hub/control/index.js';

export interface HubListenPorts {
  readonly mqtt: number | null;
  readonly amqp: number | null;
  readonly https: number | null;
  readonly mqttPlain: number | null;
}

/** What the hub on a data directory says about itself (GET /v1/status on its control socket). */
export interface HubStatus {
  readonly pid: number;
  readonly version: string;
  readonly startedAt: string;
  readonly ports: HubListenPorts;
}

export interface RunningHub {
  /** The live process holding <dataDir>/hub.lock (the data-dir lock), if any. */
  readonly holder: LockHolder | undefined;
  /** The hub answering on <dataDir>/hub.sock, if any. */
  readonly status: HubStatus | undefined;
}

/**
 * Whether a hub runs on this data directory: the lock names its process, the control socket
 * proves it serves. A lock held by a process that does not answer is another process (or a hub
 * still starting, or hung).
 */
export async function findRunningHub(dataDir: string): Promise<RunningHub> {
  const holder = DataDirLock.holder(dataDir);
  let status: HubStatus | undefined;
  try {
    const answer = await new HubControlClient(join(dataDir, HUB_CONTROL_SOCKET)).call('GET', '/v1/status');
    if (answer.status === 200) status = answer.body as HubStatus;
  } catch {
    status = undefined;
  }
  return { holder, status };
}

export function hubControlClient(dataDir: string): HubControlClient {
  return new HubControlClient(join(dataDir, HUB_CONTROL_SOCKET));
}
