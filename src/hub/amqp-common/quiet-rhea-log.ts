import { createRequire } from 'node:module';

/** rhea's loggers (rhea/lib/log.js): one `debug` function per namespace, called as `log.frames(…)` at every use. */
type RheaLog = Record<string, ((...args: unknown[]) => void) & { enabled?: boolean }>;

const rheaLog = createRequire(import.meta.url)('rhea/lib/log.js') as RheaLog;

/** Does nothing, takes nothing: no arguments array is made for a call to it. */
function silent(): void {}

let installed = false;

/**
 * Replaces each of rhea's loggers that is off (its `debug` namespace not in DEBUG when the hub
 * started) by a function that does nothing. rhea calls them for every frame it reads and writes
 * (`log.io`, `log.frames`, `log.raw`), and `debug`'s function takes `...args`: each call made an
 * array before it found it was off. Sampled under the AMQP routed load (session 14), that was
 * 41 MiB of the main thread's 782 MiB of allocations in 3 s, about 360 bytes per message, all of
 * it for the young generation to collect. A logger DEBUG turns on at start stays as it is;
 * `debug.enable()` called later does not turn the silenced ones back on (restart with DEBUG set).
 */
export function installQuietRheaLog(): void {
  if (installed) return;
  installed = true;
  for (const name of Object.keys(rheaLog)) {
    if (rheaLog[name]?.enabled !== true) rheaLog[name] = silent;
  }
}
