import type { Readable } from 'node:stream';
import type { ModuleSpec, RegistryCredential, RuntimeKind } from '../manifest/index.js';
import type { ActualModule } from '../plan/index.js';

export interface CreateRequest {
  readonly spec: ModuleSpec;
  /** The full environment for the module: manifest env plus its identity (IOTEDGE_* …). */
  readonly env: Readonly<Record<string, string>>;
  readonly registryCredentials: readonly RegistryCredential[];
}

export interface LogOptions {
  /** Last N lines; all when absent. */
  readonly tail?: number;
  /** Keep the stream open and append new output until `signal` aborts or the module is removed. */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  /** Only output written at or after this time (ms since the epoch). */
  readonly sinceMs?: number;
  /** Only output written at or before this time. */
  readonly untilMs?: number;
}

/**
 * A module runtime: the only code that touches processes or containers. The runner calls it;
 * the planner never does. Every implementation finds the modules a previous agent left running
 * (adoption) instead of starting duplicates, and tells the agent when a module's state changes
 * (exit, health) so it reconciles at once instead of on its next tick.
 *
 * Errors are OutpostErrors (OUTPOST_AGENT_*) with the module id in details.
 */
export interface ModuleRuntime {
  readonly kind: RuntimeKind;
  /** Finds what a previous agent left (state files, labelled containers) and starts watching. */
  open(): Promise<void>;
  /** The modules this agent owns, whatever their state. */
  list(): Promise<ActualModule[]>;
  /** Creates (does not start) a module: pulls its image per imagePullPolicy, writes its config. */
  create(request: CreateRequest): Promise<void>;
  /** Starts a created or exited module; a running one is left alone. */
  startModule(id: string): Promise<void>;
  /** SIGTERM (docker stop), then SIGKILL after timeoutMs; resolves once it has exited. */
  stopModule(id: string, timeoutMs: number): Promise<void>;
  /** Removes a module (stopping it first if needed); a missing one is not an error. */
  removeModule(id: string): Promise<void>;
  /** The module's output (stdout and stderr interleaved) as a byte stream. */
  logs(id: string, options: LogOptions): Promise<Readable>;
  /** `listener(id)` whenever a module exits, starts, or changes health. */
  onChange(listener: (id: string) => void): void;
  /** Stops watching; leaves modules as they are. */
  close(): Promise<void>;
}
