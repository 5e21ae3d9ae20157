import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { OutpostError } from '../../../errors/index.js';
import type { Logger } from '../../../log/index.js';
import type { ActualModule, ActualState, HealthState } from '../../plan/index.js';
import type { CreateRequest, LogOptions, ModuleRuntime } from '../module-runtime.js';
import { Labels, containerCreateBody } from './container-spec.js';
import { DockerClient, engineMessage } from './docker-client.js';
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
const NANOS_PER_MS = 1_000_000;
const DOCKER_DEFAULT_HEALTH_INTERVAL_MS = 30_000;

/**
 * The docker runtime: modules as containers through a Docker Engine API (Docker, Moby, podman).
 * A container is named after its module and labelled with the agent id, the module id and the
 * spec's config hash, so a restarted agent finds its containers and recreates only changed ones.
 * An image pinned by digest is checked against the image the container uses before every start.
 */
export class DockerRuntime implements ModuleRuntime {
  readonly kind = 'docker' as const;
  private readonly client: DockerClient;
  private readonly listeners: ((id: string) => void)[] = [];
  private readonly health = new Map<string, HealthState>();
  private readonly lastExitCodes = new Map<string, number>();
  private podmanHealth: PodmanHealthDriver | undefined;
  private events: IncomingMessage | undefined;
  private eventsRetry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.client = new DockerClient(options.socketPath);
  }

  async open(): Promise<void> {
    const version = await this.client.call<{ Version?: string; ApiVersion?: string; Components?: { Name?: string }[] }>('GET', '/version');
    const podman = (version.body.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
    if (podman) this.podmanHealth = new PodmanHealthDriver(this.client, (id) => void this.recheckHealth(id));
    this.options.logger.info({ event: 'agent.docker_connected', socket: this.options.socketPath, version: version.body.Version, apiVersion: version.body.ApiVersion, podman }, 'connected to the container engine');
    this.watchEvents();
  }

  async list(): Promise<ActualModule[]> {
    const filters = JSON.stringify({ label: [`${Labels.agent}=${this.options.agentId}`] });
    const answer = await this.client.call<{ Id: string }[]>('GET', '/containers/json', { query: { all: 1, filters } });
    if (answer.status !== 200) throw new OutpostError('OUTPOST_AGENT_RUNTIME_UNAVAILABLE', `listing containers: ${engineMessage(answer.body)}`);
    const out: ActualModule[] = [];
    const driven = new Map<string, number>();
    for (const { Id } of answer.body) {
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
      await pullImage(this.client, spec.image, registryCredentials);
    } else if ((await inspectImage(this.client, spec.image)) === undefined) {
      throw new OutpostError('OUTPOST_AGENT_IMAGE_NOT_PRESENT', `module ${spec.id}: image ${spec.image} is not on this machine and imagePullPolicy is "never"`, { details: { module: spec.id, image: spec.image } });
    }
    const body = containerCreateBody(spec, env, this.options.agentId);
    let answer = await this.client.call<{ Id?: string }>('POST', '/containers/create', { query: { name: spec.id }, body });
    if (answer.status === 409) {
      // The name is taken. Our own leftover (a create that failed half-way) is replaced; a
      // container someone else owns is not touched.
      const existing = await this.inspect(spec.id);
      if (existing?.Config.Labels?.[Labels.agent] !== this.options.agentId) throw this.error(spec.id, `a container named ${spec.id} exists and is not managed by this agent`);
      await this.client.call('DELETE', `/containers/${existing.Id}`, { query: { force: 1 } });
      answer = await this.client.call<{ Id?: string }>('POST', '/containers/create', { query: { name: spec.id }, body });
    }
    if (answer.status === 404) throw new OutpostError('OUTPOST_AGENT_IMAGE_NOT_PRESENT', `module ${spec.id}: ${engineMessage(answer.body)}`, { details: { module: spec.id, image: spec.image } });
    if (answer.status !== 201) throw this.error(spec.id, `creating the container: ${engineMessage(answer.body)} (HTTP ${answer.status})`);
  }

  async startModule(id: string): Promise<void> {
    const inspect = await this.inspect(id);
    if (inspect === undefined) throw new OutpostError('OUTPOST_AGENT_MODULE_NOT_FOUND', `no container for module ${id}`, { details: { module: id } });
    const digest = inspect.Config.Labels?.[Labels.digest];
    if (digest !== undefined) {
      const image = await inspectImage(this.client, inspect.Image);
      if (image === undefined || !hasDigest(image, digest)) {
        throw new OutpostError('OUTPOST_AGENT_IMAGE_DIGEST_MISMATCH', `module ${id}: image ${inspect.Config.Labels?.[Labels.originalImage] ?? inspect.Image} does not have the pinned digest ${digest}; not started`, {
          details: { module: id, digest, imageId: inspect.Image, repoDigests: image?.RepoDigests ?? [] },
        });
      }
    }
    const answer = await this.client.call('POST', `/containers/${inspect.Id}/start`);
    if (answer.status !== 204 && answer.status !== 304) throw this.error(id, `starting the container: ${engineMessage(answer.body)} (HTTP ${answer.status})`);
  }

  async stopModule(id: string, timeoutMs: number): Promise<void> {
    const seconds = Math.max(0, Math.ceil(timeoutMs / 1000));
    const answer = await this.client.call('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: seconds }, timeoutMs: timeoutMs + 60_000 });
    if (answer.status !== 204 && answer.status !== 304 && answer.status !== 404) throw this.error(id, `stopping the container: ${engineMessage(answer.body)} (HTTP ${answer.status})`);
  }

  async removeModule(id: string): Promise<void> {
    const answer = await this.client.call('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: 1 } });
    if (answer.status !== 204 && answer.status !== 404) throw this.error(id, `removing the container: ${engineMessage(answer.body)} (HTTP ${answer.status})`);
  }

  async logs(id: string, options: LogOptions): Promise<Readable> {
    const inspect = await this.inspect(id);
    if (inspect === undefined) throw new OutpostError('OUTPOST_AGENT_MODULE_NOT_FOUND', `no container for module ${id}`, { details: { module: id } });
    const response = await this.client.open('GET', `/containers/${inspect.Id}/logs`, {
      query: { stdout: 1, stderr: 1, follow: options.follow === true ? 1 : 0, tail: options.tail === undefined ? 'all' : options.tail },
      timeoutMs: 0,
    });
    options.signal?.addEventListener('abort', () => response.destroy(), { once: true });
    return inspect.Config.Tty === true ? response : demuxLogStream(response);
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
    const answer = await this.client.call<ContainerInspect>('GET', `/containers/${encodeURIComponent(idOrName)}/json`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new OutpostError('OUTPOST_AGENT_RUNTIME_UNAVAILABLE', `inspecting ${idOrName}: ${engineMessage(answer.body)}`);
    return answer.body;
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
    const filters = JSON.stringify({ type: ['container'], label: [`${Labels.agent}=${this.options.agentId}`] });
    const retry = () => {
      this.events = undefined;
      if (this.closed) return;
      this.eventsRetry = setTimeout(() => this.watchEvents(), EVENTS_RETRY_MS);
      this.eventsRetry.unref();
    };
    this.client.open('GET', '/events', { query: { filters }, timeoutMs: 0 }).then((response) => {
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
