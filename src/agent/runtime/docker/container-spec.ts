import type { ModuleSpec } from '../../manifest/index.js';

/** Labels the agent puts on its containers; `agent` is how it finds its own after a restart. */
export const Labels = {
  agent: 'io.outpost.agent',
  module: 'io.outpost.module',
  configHash: 'io.outpost.config-hash',
  originalImage: 'io.outpost.original-image',
  digest: 'io.outpost.digest',
} as const;

/**
 * The ContainerCreate body for a module: the manifest's createOptions passed through as they
 * are, with Image set, the module env merged into Env (module env and identity win over
 * createOptions.Env by name), and our labels added to createOptions.Labels.
 */
export function containerCreateBody(spec: ModuleSpec, env: Readonly<Record<string, string>>, agentId: string): Record<string, unknown> {
  const options = spec.createOptions as Record<string, unknown>;
  const merged = new Map<string, string>();
  for (const entry of Array.isArray(options.Env) ? (options.Env as unknown[]) : []) {
    if (typeof entry !== 'string') continue;
    const eq = entry.indexOf('=');
    merged.set(eq < 0 ? entry : entry.slice(0, eq), entry);
  }
  for (const [name, value] of Object.entries(env)) merged.set(name, `${name}=${value}`);
  const userLabels = typeof options.Labels === 'object' && options.Labels !== null ? (options.Labels as Record<string, string>) : {};
  return {
    ...options,
    Image: spec.image,
    Env: [...merged.values()],
    Labels: {
      ...userLabels,
      [Labels.agent]: agentId,
      [Labels.module]: spec.id,
      [Labels.configHash]: spec.configHash,
      [Labels.originalImage]: spec.image ?? '',
      ...(spec.digest === undefined ? {} : { [Labels.digest]: spec.digest }),
    },
  };
}
