import type { ModuleSpec } from '../manifest/index.js';

/**
 * What the planner asks the runner to do. `update` replaces a module whose configuration changed
 * (stop, remove, create); `restart` is stop + start of a module the restart policy brings back,
 * after its backoff (a fresh start rather than a resume, like Azure's agent).
 */
export type Command =
  | { readonly kind: 'create'; readonly id: string; readonly spec: ModuleSpec }
  | { readonly kind: 'update'; readonly id: string; readonly spec: ModuleSpec }
  | { readonly kind: 'start'; readonly id: string; readonly spec: ModuleSpec }
  | { readonly kind: 'stop'; readonly id: string }
  | { readonly kind: 'remove'; readonly id: string }
  | { readonly kind: 'restart'; readonly id: string; readonly spec: ModuleSpec; readonly restartCount: number; readonly reason: RestartReason };

/** Why the restart policy brings a module back. */
export type RestartReason = 'failed' | 'exited' | 'unhealthy';

export type CommandKind = Command['kind'];

export function describeCommand(command: Command): string {
  return command.kind === 'restart' ? `restart ${command.id} (${command.reason}, restart ${command.restartCount})` : `${command.kind} ${command.id}`;
}
