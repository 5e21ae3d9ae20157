// upstream-drain* — `$upstream` from a child Outpost to a parent Outpost over one multiplexed AMQP
// connection (issue 18): the child's backlog (module output queued while its link was cut) drains
// once the link is restored. Headline: messages stored at the parent per second; also the drain
// start (link restored → first message at the parent). Batched (upstream.maxBatchSize 10, the
// default) or one transfer per message (1), with 1, 100 or 1,000 identities (modules of the
// child, one MQTT connection each on the child; 1,000 shows what grows with the identities on one
// connection). Outpost only; the harness starts the parent, the scenario the child
// (bench/lib/upstream-drain.ts). Fill 6 s (quick: 1 s; --duration overrides).
// Run: npm run bench -- upstream-drain upstream-drain-unbatched upstream-drain-100 upstream-drain-100-unbatched upstream-drain-1000 --target outpost
import { runUpstreamDrain, UPSTREAM_TARGETS, upstreamParentSetup, type UpstreamSpec } from '../lib/upstream-drain.js';
import type { Scenario } from './scenario.js';

function upstreamScenario(name: string, spec: UpstreamSpec): Scenario {
  let parentDataDir = '';
  return {
    name,
    description: `child Outpost → parent Outpost over one AMQP connection, ${spec.identities} identit${spec.identities === 1 ? 'y' : 'ies'}, ${spec.maxBatchSize === 1 ? 'one transfer per message' : `batches of ${spec.maxBatchSize}`}: backlog drained msg/s at the parent, drain start`,
    targets: UPSTREAM_TARGETS,
    outpostSetup: (dataDir, options) => {
      parentDataDir = dataDir;
      return upstreamParentSetup(dataDir, options, spec);
    },
    run: (target, options) => runUpstreamDrain(target, options, spec, () => parentDataDir),
  };
}

export const upstreamDrain = upstreamScenario('upstream-drain', { identities: 1, maxBatchSize: 10 });
export const upstreamDrainUnbatched = upstreamScenario('upstream-drain-unbatched', { identities: 1, maxBatchSize: 1 });
export const upstreamDrain100 = upstreamScenario('upstream-drain-100', { identities: 100, maxBatchSize: 10 });
export const upstreamDrain100Unbatched = upstreamScenario('upstream-drain-100-unbatched', { identities: 100, maxBatchSize: 1 });
export const upstreamDrain1000 = upstreamScenario('upstream-drain-1000', { identities: 1000, maxBatchSize: 10 });
