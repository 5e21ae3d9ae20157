import Dockerode from 'dockerode';
import { OutpostError } from '../../../errors/index.js';

/**
 * The Docker Engine API through dockerode, over the unix socket. API v1.41: Docker 20.10+, Moby,
 * and podman's compatible service.
 */
export const DOCKER_API_VERSION = 'v1.41';
/** Idle timeout of a request/answer call: a hung engine must not hang the agent. */
export const CALL_TIMEOUT_MS = 60_000;

export interface DockerEngine {
  /** Request/answer calls (inspect, create, start, …), each with CALL_TIMEOUT_MS. */
  readonly api: Dockerode;
  /** Long or long-lived answers (pulls, followed logs, events, stop): no idle timeout. */
  readonly streams: Dockerode;
  /** Unversioned paths (podman's /v4.0.0/libpod/… endpoints). */
  readonly raw: Dockerode;
  readonly socketPath: string;
}

export function dockerEngine(socketPath: string): DockerEngine {
  return {
    api: dockerode(socketPath, DOCKER_API_VERSION, CALL_TIMEOUT_MS),
    streams: dockerode(socketPath, DOCKER_API_VERSION, undefined),
    raw: dockerode(socketPath, undefined, undefined),
    socketPath,
  };
}

function dockerode(socketPath: string, version: string | undefined, timeoutMs: number | undefined): Dockerode {
  // docker-modem starts from DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and
  // DOCKER_CLIENT_TIMEOUT, and a tcp DOCKER_HOST would win over socketPath: agent.dockerSocket is
  // the only setting, so every field those variables could set is given here explicitly.
  return new Dockerode({
    socketPath,
    host: undefined,
    port: undefined,
    protocol: 'http',
    ca: undefined,
    cert: undefined,
    key: undefined,
    version,
    timeout: timeoutMs,
  });
}

/** What dockerode rejects with: an HTTP answer outside the call's statusCodes, or a socket error. */
interface DockerodeError extends Error {
  statusCode?: number;
  json?: unknown;
  code?: string;
}

/** The HTTP status of a rejected call, or undefined for a transport error. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as DockerodeError | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message ({"message": …}) when it sent one, else dockerode's. */
export function engineMessage(error: unknown): string {
  const json = (error as DockerodeError | undefined)?.json;
  if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') return (json as { message: string }).message;
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  return error instanceof Error ? error.message : String(error);
}

/**
 * A rejected call as an OutpostError: an engine answer becomes `code` with the engine's message
 * and HTTP status; an unreachable or silent engine becomes OUTPOST_AGENT_RUNTIME_UNAVAILABLE.
 */
export function engineError(
  error: unknown,
  socketPath: string,
  what: string,
  code: 'OUTPOST_AGENT_COMMAND_FAILED' | 'OUTPOST_AGENT_RUNTIME_UNAVAILABLE',
  details: Readonly<Record<string, unknown>> = {},
): OutpostError {
  if (error instanceof OutpostError) return error;
  const status = statusOf(error);
  if (status !== undefined) {
    return new OutpostError(code, `${what}: ${engineMessage(error)} (HTTP ${status})`, { cause: error, details: { ...details, status } });
  }
  const errno = (error as DockerodeError | undefined)?.code;
  const unreachable = errno === 'ENOENT' || errno === 'ECONNREFUSED' || errno === 'EACCES';
  const message = unreachable
    ? `cannot reach the Docker Engine API at ${socketPath} (${errno})`
    : errno === 'ECONNRESET'
      ? // docker-modem ends a call that passed its idle timeout by destroying the request.
        `${what}: the Docker Engine API closed the connection or did not answer within ${CALL_TIMEOUT_MS / 1000} s`
      : isTimeout(error)
        ? `${what}: no answer from the Docker Engine API in time`
        : `${what}: ${error instanceof Error ? error.message : String(error)}`;
  return new OutpostError('OUTPOST_AGENT_RUNTIME_UNAVAILABLE', message, { cause: error, details: { ...details, socketPath } });
}

/** A call given `abortSignal: AbortSignal.timeout(…)` that ran out. */
function isTimeout(error: unknown): boolean {
  const e = error as DockerodeError | undefined;
  return e?.name === 'TimeoutError' || (e?.name === 'AbortError' && (e.cause as Error | undefined)?.name === 'TimeoutError');
}
