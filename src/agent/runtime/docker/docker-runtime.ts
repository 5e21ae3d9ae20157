import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { OutpostError } from '../../../errors/index.js';
import type { Logger } from '../../../log/index.js';
import type { ActualModule, ActualState, HealthState } from '../../plan/index.js';
import type { CreateRequest, LogOptions, ModuleRuntime } from '../module-runtime.js';
import { Labels, containerCreateBody } from './container-spec.js';
import { dockerEngine, engineError, engineMessage, statusOf, type DockerEngine } from './docker-engine.js';
import { hasDigest, inspectImage, pullImage } from './image-puller.js';
import { demuxLogStream } from './log-demux.js';
import { PodmanHealthDriver } from './podman-health.js';

export interface DockerRuntimeOptions {
  /** agent.dockerSocket. */
  readonly socketPath: string;
  /** Value of the io.outpost.agent label: which containers are this agent's. */
  readonly agentId: string;
  readonly logger: Logger;
}

interface ContainerInspect {
  Id: string;
  Image: string;
  State: { Status: string; ExitCode: number; StartedAt: string; FinishedAt: string; Health?: { Status?: string } };
  Config: { Labels?: Record<string, string> | null; Tty?: boolean; Healthcheck?: { Test?: string[]; Interval?: number } };
}

const EVENTS_RETRY_MS = 1_000;
/** How much longer than its own stop timeout a `docker stop` may take to answer. */
const STOP_GRACE_MS = 60_000;
/** HTTP 304 Not Modified: start of a running or stop of a stopped container. */
const NOT_MODIFIED = 304;
const NOT_FOUND = 404;
const CONFLICT = 409;
const NANOS_PER_MS = 1_000_000;
const DOCKER_DEFAULT_HEALTH_INTERVAL_MS = 30_000;

/**
 * The docker runtime: modules as containers through a Docker Engine API (Docker, Moby, podman),
 * with dockerode.
 * A container is named after its module and labelled with the agent id, the module id and the
 * spec's config hash, so a restarted agent finds its containers and recreates only changed ones.
 * An image pinned by digest is checked against the image the container uses before every start.
 */
export class DockerRuntime implements ModuleRuntime {
  readonly kind = 'docker' as const;
  private readonly engine: DockerEngine;
  private readonly listeners: ((id: string) => void)[] = [];
  private readonly health = new Map<string, HealthState>();
  private readonly lastExitCodes = new Map<string, number>();
  private podmanHealth: PodmanHealthDriver | undefined;
  private events: IncomingMessage | undefined;
  private eventsRetry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.engine = dockerEngine(options.socketPath);
  }

  async open(): Promise<void> {
    const version = await this.engine.api.version().catch((error: unknown) => {
      throw engineError(error, this.options.socketPath, 'reading the engine version', 'OUTPOST_AGENT_RUNTIME_UNAVAILABLE');
    });
    const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
    if (podman) this.podmanHealth = new PodmanHealthDriver(this.engine.raw.modem, (id) => void this.recheckHealth(id));
    this.options.logger.info({ event: 'agent.docker_connected', socket: this.options.socketPath, version: version.Version, apiVersion: version.ApiVersion, podman }, 'connected to the container engine');
    this.watchEvents();
  }

  async list(): Promise<ActualModule[]> {
    const containers = await this.engine.api.listContainers({ all: true, filters: { label: [`${Labels.agent}=${this.options.agentId}`] } }).catch((error: unknown) => {
      throw engineError(error, this.options.socketPath, 'listing containers', 'OUTPOST_AGENT_RUNTIME_UNAVAILABLE');
    });
    const out: ActualModule[] = [];
    const driven = new Map<string, number>();
    for (const { Id } of containers) {
      const inspect = await this.inspect(Id);
      if (inspect === undefined) continue; // removed meanwhile
      const id = inspect.Config.Labels?.[Labels.module];
      if (id === undefined) continue;
      let module = toActual(id, inspect);
      // The engine resets ExitCode when a container starts again; the last exit code stays
      // reported until the next exit, as with the process runtime.
      if (module.state === 'exited' && module.exitCode !== undefined) this.lastExitCodes.set(inspect.Id, module.exitCode);
      else if (module.state === 'running' && this.lastExitCodes.has(inspect.Id)) module = { ...module, exitCode: this.lastExitCodes.get(inspect.Id) };
      this.health.set(inspect.Id, module.health);
      out.push(module);
      const test = inspect.Config.Healthcheck?.Test ?? [];
      if (module.state === 'running' && test.length > 0 && test[0] !== 'NONE') {
        const interval = inspect.Config.Healthcheck?.Interval;
        driven.set(inspect.Id, interval !== undefined && interval > 0 ? interval / NANOS_PER_MS : DOCKER_DEFAULT_HEALTH_INTERVAL_MS);
      }
    }
    this.podmanHealth?.sync(driven);
    return out;
  }

  async create(request: CreateRequest): Promise<void> {
    const { spec, env, registryCredentials } = request;
    if (spec.image === undefined) throw this.error(spec.id, 'the module has no settings.image');
    if (spec.imagePullPolicy === 'on-create') {
      this.options.logger.info({ event: 'agent.image_pull', module: spec.id, image: spec.image }, 'pulling image');
      await pullImage(this.engine, spec.image, registryCredentials);
    } else if ((await inspectImage(this.engine, spec.image)) === undefined) {
      throw new OutpostError('OUTPOST_AGENT_IMAGE_NOT_PRESENT', `module ${spec.id}: image ${spec.image} is not on this machine and imagePullPolicy is "never"`, { details: { module: spec.id, image: spec.image } });
    }
    const body = containerCreateBody(spec, env, this.options.agentId);
    let failure = await this.tryCreate(spec.id, body);
    if (failure !== undefined && statusOf(failure) === CONFLICT) {
      // The name is taken. Our own leftover (a create that failed half-way) is replaced; a
      // container someone else owns is not touched.
      const existing = await this.inspect(spec.id);
      if (existing?.Config.Labels?.[Labels.agent] !== this.options.agentId) throw this.error(spec.id, `a container named ${spec.id} exists and is not managed by this agent`);
      await this.remove(existing.Id, spec.id);
      failure = await this.tryCreate(spec.id, body);
    }
    if (failure === undefined) return;
    if (statusOf(failure) === NOT_FOUND) throw new OutpostError('OUTPOST_AGENT_IMAGE_NOT_PRESENT', `module ${spec.id}: ${engineMessage(failure)}`, { details: { module: spec.id, image: spec.image } });
    throw this.engineError(failure, spec.id, 'creating the container');
  }

  async startModule(id: string): Promise<void> {
    const inspect = await this.inspect(id);
    if (inspect === undefined) throw new OutpostError('OUTPOST_AGENT_MODULE_NOT_FOUND', `no container for module ${id}`, { details: { module: id } });
    const digest = inspect.Config.Labels?.[Labels.digest];
    if (digest !== undefined) {
      const image = await inspectImage(this.engine, inspect.Image);
      if (image === undefined || !hasDigest(image, digest)) {
        throw new OutpostError('OUTPOST_AGENT_IMAGE_DIGEST_MISMATCH', `module ${id}: image ${inspect.Config.Labels?.[Labels.originalImage] ?? inspect.Image} does not have the pinned digest ${digest}; not started`, {
          details: { module: id, digest, imageId: inspect.Image, repoDigests: image?.RepoDigests ?? [] },
        });
      }
    }
    await this.engine.api
      .getContainer(inspect.Id)
      .start()
      .catch((error: unknown) => {
        if (statusOf(error) !== NOT_MODIFIED) throw this.engineError(error, id, 'starting the container');
      });
  }

  async stopModule(id: string, timeoutMs: number): Promise<void> {
    const seconds = Math.max(0, Math.ceil(timeoutMs / 1000));
    // The engine answers only once the container has exited: no idle timeout, a deadline instead.
    await this.engine.streams
      .getContainer(encodeURIComponent(id))
      .stop({ t: seconds, abortSignal: AbortSignal.timeout(timeoutMs + STOP_GRACE_MS) })
      .catch((error: unknown) => {
        const status = statusOf(error);
        if (status !== NOT_MODIFIED && status !== NOT_FOUND) throw this.engineError(error, id, 'stopping the container');
      });
  }

  async removeModule(id: string): Promise<void> {
    await this.remove(encodeURIComponent(id), id);
  }

  async logs(id: string, options: LogOptions): Promise<Readable> {
    const inspect = await this.inspect(id);
    if (inspect === undefined) throw new OutpostError('OUTPOST_AGENT_MODULE_NOT_FOUND', `no container for module ${id}`, { details: { module: id } });
    const query = {
      stdout: true,
      stderr: true,
      follow: options.follow === true,
      tail: options.tail === undefined ? 'all' : options.tail,
      // The engine keeps a time per line: it filters by time itself (whole seconds).
      ...(options.sinceMs === undefined ? {} : { since: Math.floor(options.sinceMs / 1000) }),
      ...(options.untilMs === undefined ? {} : { until: Math.ceil(options.untilMs / 1000) }),
    };
    // Not container.logs(): without follow it answers with the whole body, JSON.parsed when
    // the output happens to be JSON, instead of a stream.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      this.engine.streams.modem.dial(
        { path: `/containers/${inspect.Id}/logs?`, method: 'GET', options: query, isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' } },
        (error, result) => (error === null ? resolve(result as IncomingMessage) : reject(this.engineError(error, id, 'reading the logs'))),
      );
    });
    options.signal?.addEventListener('abort', () => response.destroy(), { once: true });
    return inspect.Config.Tty === true ? response : demuxLogStream(this.engine.streams.modem, response);
  }

  onChange(listener: (id: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.podmanHealth?.close();
    if (this.eventsRetry !== undefined) clearTimeout(this.eventsRetry);
    this.events?.destroy();
  }

  private async inspect(idOrName: string): Promise<ContainerInspect | undefined> {
    try {
      return (await this.engine.api.getContainer(encodeURIComponent(idOrName)).inspect()) as ContainerInspect;
    } catch (error) {
      if (statusOf(error) === NOT_FOUND) return undefined;
      throw engineError(error, this.options.socketPath, `inspecting ${idOrName}`, 'OUTPOST_AGENT_RUNTIME_UNAVAILABLE');
    }
  }

  /** Creates the named container; the rejection when the engine refused, so the caller can tell a name conflict. */
  private async tryCreate(name: string, body: Record<string, unknown>): Promise<unknown> {
    try {
      // _query and _body: otherwise docker-modem sends every create option in the query string
      // as well as in the body: the module's env (connection strings) in a URL that an engine
      // may log, and long createOptions past URL limits.
      await this.engine.api.createContainer({ _query: { name }, _body: body } as unknown as Dockerode.ContainerCreateOptions);
      return undefined;
    } catch (error) {
      if (statusOf(error) === undefined) throw this.engineError(error, name, 'creating the container');
      return error;
    }
  }

  /** Removes a container (killing it if needed); a missing one is not an error. */
  private async remove(idOrName: string, module: string): Promise<void> {
    await this.engine.api
      .getContainer(idOrName)
      .remove({ force: true })
      .catch((error: unknown) => {
        if (statusOf(error) !== NOT_FOUND) throw this.engineError(error, module, 'removing the container');
      });
  }

  /** After a podman health run: tell the agent only when the container's health changed. */
  private async recheckHealth(containerId: string): Promise<void> {
    const inspect = await this.inspect(containerId).catch(() => undefined);
    const module = inspect?.Config.Labels?.[Labels.module];
    if (inspect === undefined || module === undefined) return;
    const health = healthOf(inspect);
    if (this.health.get(inspect.Id) === health) return;
    this.health.set(inspect.Id, health);
    this.emit(module);
  }

  /** Container events (die, start, health_status, …) of our containers trigger a reconcile. */
  private watchEvents(): void {
    if (this.closed) return;
    const retry = () => {
      this.events = undefined;
      if (this.closed) return;
      this.eventsRetry = setTimeout(() => this.watchEvents(), EVENTS_RETRY_MS);
      this.eventsRetry.unref();
    };
    this.engine.streams.getEvents({ filters: { type: ['container'], label: [`${Labels.agent}=${this.options.agentId}`] } }).then((stream) => {
      const response = stream as IncomingMessage;
      if (this.closed) {
        response.destroy();
        return;
      }
      this.events = response;
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
          if (line === '') continue;
          try {
            const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
            const module = event.Actor?.Attributes?.[Labels.module];
            if (module !== undefined) this.emit(module);
          } catch {
            // a partial or foreign line
          }
        }
      });
      response.on('end', retry);
      response.on('error', retry);
      // The socket response is long-lived: it must not keep the process alive on its own.
      response.socket.unref();
    }, retry);
  }

  private emit(id: string): void {
    if (this.closed) return;
    for (const listener of this.listeners) listener(id);
  }

  private error(id: string, message: string): OutpostError {
    return new OutpostError('OUTPOST_AGENT_COMMAND_FAILED', `module ${id}: ${message}`, { details: { module: id } });
  }

  private engineError(error: unknown, id: string, what: string): OutpostError {
    return engineError(error, this.options.socketPath, `module ${id}: ${what}`, 'OUTPOST_AGENT_COMMAND_FAILED', { module: id });
  }
}

function toActual(id: string, inspect: ContainerInspect): ActualModule {
  const { State } = inspect;
  const state: ActualState = State.Status === 'running' ? 'running' : State.Status === 'exited' || State.Status === 'removing' ? 'exited' : State.Status === 'dead' ? 'dead' : 'created';
  const started = time(State.StartedAt);
  return {
    id,
    configHash: inspect.Config.Labels?.[Labels.configHash] ?? '',
    state,
    // A container started and stopped by the engine reports its last exit; one never started has none.
    exitCode: started === undefined ? undefined : State.ExitCode,
    startedAtMs: started,
    finishedAtMs: time(State.FinishedAt),
    health: state === 'running' ? healthOf(inspect) : 'none',
    detail: inspect.Id.slice(0, 12),
  };
}

function healthOf(inspect: ContainerInspect): HealthState {
  const status = inspect.State.Health?.Status;
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : 'none';
}

/** Docker writes 0001-01-01T00:00:00Z for "never". */
function time(text: string | undefined): number | undefined {
  if (text === undefined || text.startsWith('0001-')) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
