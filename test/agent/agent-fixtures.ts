import { createHash } from 'node:crypto';
import { canonicalJson, type ModuleSpec } from '../../src/agent/index.js';

/** A config hash for hand-built specs in planner tests (any function of the baked-in fields will do). */
export function configHashOfForTest(spec: ModuleSpec): string {
  return createHash('sha256')
    .update(canonicalJson({ image: spec.image ?? null, env: spec.env, createOptions: spec.createOptions, version: spec.version, process: spec.process ?? null }))
    .digest('hex')
    .slice(0, 32);
}
