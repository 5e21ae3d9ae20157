// For the tests of rhea's objects made with shared accessors (src/hub/amqp-common/shared-*.ts):
// an object's own fields and getters, and V8's %HasFastProperties counted in a child process (the
// test process runs without --allow-natives-syntax). A getter per instance turns every object
// after the first into a dictionary; the shared ones must stay fast.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * How many of `count` rounds make objects V8 keeps with fast properties, all of them. `setup` runs
 * once, inside an async function where `rhea` is the package (it may `await import(…)` the module
 * under test); `make` is an expression, evaluated once per round with `container` (one rhea
 * container for all rounds), whose value is the array of objects to check.
 */
export function fastRounds(count: number, setup: string, make: string): number {
  const script = `
    const rhea = require(${JSON.stringify(require.resolve('rhea'))});
    const run = async () => {
      ${setup}
      const container = rhea.create_container();
      let fast = 0;
      for (let i = 0; i < ${count}; i += 1) {
        const objects = ${make};
        if (objects.every((o) => %HasFastProperties(o))) fast += 1;
      }
      process.stdout.write(String(fast));
    };
    run();
  `;
  const child = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return Number(child.stdout);
}

/** An object's own data properties (in order) and the names of its own accessors. */
export function own(object: object): { data: Record<string, unknown>; accessors: string[] } {
  const data: Record<string, unknown> = {};
  const accessors: string[] = [];
  for (const name of Object.getOwnPropertyNames(object)) {
    const descriptor = Object.getOwnPropertyDescriptor(object, name)!;
    if ('value' in descriptor) data[name] = descriptor.value;
    else accessors.push(name);
  }
  return { data, accessors };
}
