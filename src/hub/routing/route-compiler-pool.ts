import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { CompiledRouteTableData } from './route-compiler.js';

/** What the compiler worker (workers/route-compiler.ts) receives. */
export interface RouteCompileTask {
  /** `$edgeHub` desired properties `routes`: name → route string or {route, priority, timeToLiveSecs}. */
  readonly routes: unknown;
  readonly schemaVersion?: string;
}

const WORKER_FILE = fileURLToPath(new URL('../../../workers/route-compiler.js', import.meta.url));

/** How long the compiler's thread outlives its last compile: a deployment change is rare, so no idle thread is kept. */
export const COMPILER_IDLE_TIMEOUT_MS = 5_000;

/**
 * Compiles route tables off the main thread (DESIGN: "filter compilation runs off the main
 * thread"). The result is plain data; each shard worker turns it into functions with
 * `RouteTable.fromData` and swaps its table reference. One thread is plenty: tables change
 * only on deployment, and parsing a hundred routes takes milliseconds.
 */
export class RouteCompilerPool {
  private readonly pool: Piscina<RouteCompileTask, CompiledRouteTableData>;

  constructor(options: { idleTimeoutMs?: number; resourceLimits?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number } } = {}) {
    this.pool = new Piscina<RouteCompileTask, CompiledRouteTableData>({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: options.idleTimeoutMs ?? COMPILER_IDLE_TIMEOUT_MS,
      // Nothing reads Piscina's timing histograms (native memory; see ShardClient).
      recordTiming: false,
      // The memory budget's bound on this thread's heap (memoryBudget).
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
  }

  compile(routes: unknown, schemaVersion?: string): Promise<CompiledRouteTableData> {
    return this.pool.run(schemaVersion === undefined ? { routes } : { routes, schemaVersion });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
