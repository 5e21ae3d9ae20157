import type { HubMessage } from '../message/index.js';

/**
 * The shard of a message: FNV-1a of its source identity (device, or device/module) mod N. Every
 * message of one identity goes to one shard, whose queues keep their order, so each source's
 * order to each endpoint holds across batches and restarts.
 */
export function shardOf(message: HubMessage, shards: number): number {
  if (shards === 1) return 0;
  const system = message.systemProperties;
  const device = Object.hasOwn(system, 'connectionDeviceId') ? system.connectionDeviceId : undefined;
  const module = Object.hasOwn(system, 'connectionModuleId') ? system.connectionModuleId : undefined;
  let hash = 0x811c9dc5;
  hash = fnv(hash, device ?? message.source);
  if (module !== undefined) hash = fnv(fnv(hash, '/'), module);
  return hash % shards;
}

function fnv(seed: number, text: string): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
