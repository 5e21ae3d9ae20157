import { createHash } from 'node:crypto';
import type { ProcessSettings } from './process-settings.js';

/** Restart policies in Azure's order: each one restarts in every case the previous one does. */
export const RESTART_POLICIES = ['never', 'on-failure', 'on-unhealthy', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export const DESIRED_STATUSES = ['running', 'stopped'] as const;
export type DesiredStatus = (typeof DESIRED_STATUSES)[number];

export const IMAGE_PULL_POLICIES = ['on-create', 'never'] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

/** Azure's defaults (EA.Core/Constants.cs): a module without restartPolicy is `on-unhealthy`. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = 'on-unhealthy';
/** uint.MaxValue: modules without startupOrder start last. */
export const DEFAULT_STARTUP_ORDER = 4_294_967_295;

/** One module of a validated deployment, normalized: the planner's unit of desired state. */
export interface ModuleSpec {
  readonly id: string;
  readonly type: string;
  readonly version: string;
  readonly status: DesiredStatus;
  readonly restartPolicy: RestartPolicy;
  readonly imagePullPolicy: ImagePullPolicy;
  readonly startupOrder: number;
  /** settings.image with a tag (`:latest` added when missing); undefined for process-only modules. */
  readonly image: string | undefined;
  /** `sha256:…` from settings.digest or an image pinned as name@sha256:…. */
  readonly digest: string | undefined;
  /** Parsed ContainerCreate options (chunks joined). */
  readonly createOptions: Readonly<Record<string, unknown>>;
  /** The joined createOptions text as written in the manifest (echoed in reported properties). */
  readonly createOptionsText: string;
  /** Module `env` from the manifest, names to values. */
  readonly env: Readonly<Record<string, string>>;
  readonly process: ProcessSettings | undefined;
  /**
   * Hash of everything that is baked into a created container or process (image, digest, create
   * options, env, process settings, version, type). A running module whose hash differs from its
   * desired one is recreated; status, restart policy and startup order change without recreation.
   */
  readonly configHash: string;
}

export function configHashOf(spec: Omit<ModuleSpec, 'configHash' | 'status' | 'restartPolicy' | 'startupOrder' | 'imagePullPolicy' | 'createOptionsText' | 'id'>): string {
  const material = canonicalJson({
    type: spec.type,
    version: spec.version,
    image: spec.image ?? null,
    digest: spec.digest ?? null,
    createOptions: spec.createOptions,
    env: spec.env,
    process: spec.process ?? null,
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so equal values hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
