import type { ModuleDef } from '../agent-harness.js';

/** A module of the test image; env drives mod.sh (FOO, LOOPS, EXIT_CODE). */
export function container(env: Record<string, string>, extra: Omit<ModuleDef, 'settings' | 'env'> & { image?: string; createOptions?: Record<string, unknown>; imagePullPolicy?: string; digest?: string } = {}): ModuleDef {
  const { image, createOptions, imagePullPolicy, digest, ...rest } = extra;
  // NetworkMode none: the modules need no network, and it shows createOptions passed through.
  const options = JSON.stringify({ HostConfig: { NetworkMode: 'none' }, ...createOptions });
  return {
    ...rest,
    env,
    imagePullPolicy: imagePullPolicy ?? 'never',
    settings: {
      image: image ?? 'localhost/edge-test:1',
      // Chunked as Azure writes long options: createOptions + createOptions01.
      createOptions: options.slice(0, 10),
      createOptions01: options.slice(10),
      ...(digest === undefined ? {} : { digest }),
    },
  } as ModuleDef;
}
