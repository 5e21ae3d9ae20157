// The implementations of src/native the contract suites run against: always the TypeScript
// reference; the addon too unless OUTPOST_NATIVE=off. With OUTPOST_NATIVE=require a missing addon
// fails the suite instead of skipping it (CI runs the suite in both modes).
import { loadNative, type NativeFunctions, type NativeMode } from '../../src/native/index.js';

function modeFromEnv(): NativeMode {
  const value = process.env['OUTPOST_NATIVE'];
  return value === 'off' || value === 'require' ? value : 'auto';
}

export const NATIVE_MODE = modeFromEnv();

/** Throws (failing the importing test file) when the mode is require and the addon does not load. */
export const selected: NativeFunctions = loadNative(NATIVE_MODE);
export const typescript: NativeFunctions = loadNative('off');

/** Pairs to compare: [reference, candidate]; empty when only the reference is available. */
export const candidates: readonly NativeFunctions[] = selected.implementation === 'native' ? [selected] : [];

/** Seeded PRNG (mulberry32) so a failure replays. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
