import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { DeploymentStatusCode } from './deployment-status.js';
import type { SourcedDeployment } from './deployment-source.js';
import type { RuntimeKind } from './validate-deployment.js';
import { validateForApply } from './validate-for-apply.js';

/** A desired section as a twin holds it: the properties and `$version`. */
export type DesiredSection = Readonly<Record<string, unknown>> & { readonly $version?: number };

export interface TwinDeploymentOptions {
  /** Where the composed manifest is written (and what relative process `cwd` values resolve against). */
  readonly file: string;
  readonly runtime: RuntimeKind;
  readonly searchPath: string;
}

export interface TwinSourcedDeployment extends SourcedDeployment {
  /** The `$edgeAgent` desired `$version`: reported as `lastDesiredVersion`, as Azure's agent does. */
  readonly agentVersion: number;
  /** The `$edgeHub` desired `$version`: the `$edgeHub` reported `lastDesiredVersion`. */
  readonly hubVersion: number;
}

/**
 * The deployment an agent managed from above is given: the `$edgeAgent` and `$edgeHub` desired
 * sections of this edge device's twins, put together as the manifest IoT Hub would have written
 * them from, and passed through the same validation as `outpost deploy` (validateForApply: schema,
 * modules, routes that compile, process programs that exist). The composed manifest is kept in
 * `file` so an operator can see (and `outpost check`) exactly what the twins asked for.
 */
export function deploymentFromTwins(agent: DesiredSection, hub: DesiredSection, options: TwinDeploymentOptions): TwinSourcedDeployment {
  const agentVersion = typeof agent.$version === 'number' ? agent.$version : 0;
  const hubVersion = typeof hub.$version === 'number' ? hub.$version : 0;
  const agentDesired = withoutMetadata(agent);
  const hubDesired = withoutMetadata(hub);
  if (Object.keys(agentDesired).length === 0) {
    // Azure's agent before its twin holds a deployment: 417, nothing deployed.
    const result = { ok: false as const, code: DeploymentStatusCode.ConfigEmptyError, problems: [{ path: '', message: 'the $edgeAgent desired properties hold no deployment yet' }] };
    return { result, file: options.file, contentHash: 'empty', origin: 'twin', agentVersion, hubVersion };
  }
  const modulesContent: Record<string, unknown> = { $edgeAgent: { 'properties.desired': agentDesired } };
  if (Object.keys(hubDesired).length > 0) modulesContent.$edgeHub = { 'properties.desired': hubDesired };
  const text = `${JSON.stringify({ modulesContent }, null, 2)}\n`;
  writeFileSync(`${options.file}.tmp`, text, { mode: 0o600 });
  renameSync(`${options.file}.tmp`, options.file);
  const result = validateForApply(options.file, { runtime: options.runtime, searchPath: options.searchPath, text });
  const contentHash = createHash('sha256').update(text).digest('hex');
  return { result, file: options.file, contentHash, origin: 'twin', agentVersion, hubVersion };
}

/** The section without the twin's own keys (`$version`, `$metadata`): what the deployment said. */
function withoutMetadata(section: DesiredSection): Record<string, unknown> {
  return Object.fromEntries(Object.entries(section).filter(([key]) => !key.startsWith('$')));
}
