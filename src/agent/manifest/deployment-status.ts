/**
 * `lastDesiredStatus.code` values of the $edgeAgent reported properties, as Azure's agent writes
 * them (EA.Core/DeploymentStatusCode.cs): operators and tools compare these numbers.
 */
export const DeploymentStatusCode = {
  /** The deployment was applied: every command of the plan succeeded (or there was nothing to do). */
  Successful: 200,
  /** The manifest could not be read as a deployment: syntax, a missing or mistyped field. */
  ConfigFormatError: 400,
  /** The agent is not running (written on shutdown; modules then report runtimeStatus unknown). */
  Unknown: 406,
  /** `$edgeAgent` or `$edgeHub` schemaVersion is not one this agent understands. */
  InvalidSchemaVersion: 412,
  /** No deployment received yet (no manifest, or an empty file). */
  ConfigEmptyError: 417,
  /** Anything else failed while planning or executing (a pull, a start, the runtime unreachable). */
  Failed: 500,
} as const;

export type DeploymentStatusCodeValue = (typeof DeploymentStatusCode)[keyof typeof DeploymentStatusCode];

export interface DeploymentStatus {
  readonly code: DeploymentStatusCodeValue;
  readonly description: string;
}
