import { request } from 'node:http';
import { join } from 'node:path';
import { DataDirLock, type LockHolder } from '../fs/index.js';
import { HUB_CONTROL_SOCKET } from '../hub/control/index.js';

/** A serving hub answers its control socket at once; this bounds a hung one. */
const STATUS_TIMEOUT_MS = 3_000;

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
  const answer = await getJson(join(dataDir, HUB_CONTROL_SOCKET), '/v1/status', STATUS_TIMEOUT_MS);
  return { holder, status: answer as HubStatus | undefined };
}

/**
 * GET on a control socket with a deadline: a hung or stopped hub accepts the connection (the
 * kernel does) and never answers; check must still finish. undefined when there is no answer.
 */
export function getJson(socketPath: string, path: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => resolve(undefined));
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

