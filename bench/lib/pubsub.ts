// The shared shape of the publish/subscribe scenarios: subscribers connect and subscribe first,
// then publishers connect; publishers run through a warm-up, the measured window, and stop; each
// process reports its counts and latency histogram for the window only.
import { LoadgenGroup } from './children.js';
import { commonWarnings, finalBrokerFigures, MeasuredWindow, mergeHistograms, microsPer, sleep, summarizeLatency } from './measure.js';
import type { PublisherReport, SubscriberReport } from '../loadgen/protocol.js';
import type { RunningTarget } from './targets.js';
import type { ScenarioOptions, ScenarioOutcome } from '../scenarios/scenario.js';

export interface PubSubSpec {
  /** Client ids and topics carry this, so concurrent runs on one broker do not cross. */
  readonly prefix: string;
  readonly publishers: number;
  readonly topicOf: (publisher: number) => string;
  readonly filter: string;
  /** Subscriber connections, spread over `subscriberProcesses` processes. */
  readonly subscribers: number;
  readonly subscriberProcesses: number;
  readonly qos: 0 | 1;
  readonly payloadBytes: number;
  readonly batch: number;
  readonly pingsInFlight: number;
  readonly window: number;
  readonly refillMin: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  /** The headline: delivered (subscribers' receive rate) or acked (publishers' PUBACK rate). */
  readonly headline: 'delivered' | 'acked';
  /** Each publisher cycles over this many topics (PublisherConfig.topics); one topic when absent. */
  readonly topicsPerPublisher?: number;
  /**
   * Runs before the subscribers connect (e.g. a connection holding many other subscriptions) and
   * returns what undoes it after the run; params merges into the result's params.
   */
  readonly setup?: (endpoint: { host: string; port: number }) => Promise<{ params: Record<string, unknown>; close(): Promise<void> }>;
}

export function windowSeconds(options: ScenarioOptions, normal: { warmupSec: number; durationSec: number }): { warmupSec: number; durationSec: number } {
  return {
    warmupSec: options.warmupSec ?? (options.quick ? Math.min(0.5, normal.warmupSec) : normal.warmupSec),
    durationSec: options.durationSec ?? (options.quick ? Math.min(1.5, normal.durationSec) : normal.durationSec),
  };
}

export async function runPubSub(target: RunningTarget, options: ScenarioOptions, spec: PubSubSpec): Promise<ScenarioOutcome> {
  const group = new LoadgenGroup(options.loadgen);
  const endpoint = { host: target.host, port: target.port };
  const extra = spec.setup === undefined ? undefined : await spec.setup(endpoint);
  try {
    const subscribers = [];
    const perProcess = Math.ceil(spec.subscribers / spec.subscriberProcesses);
    for (let p = 0, first = 0; p < spec.subscriberProcesses && first < spec.subscribers; p++, first += perProcess) {
      const count = Math.min(perProcess, spec.subscribers - first);
      subscribers.push(group.add(`subscriber ${p}`, { role: 'subscriber', ...endpoint, clientIdPrefix: `${spec.prefix}-sub-`, first, count, filter: spec.filter, qos: spec.qos }));
    }
    await group.allReady(subscribers);
    const publishers = [];
    for (let i = 0; i < spec.publishers; i++) {
      publishers.push(
        group.add(`publisher ${i}`, {
          role: 'publisher',
          ...endpoint,
          clientId: `${spec.prefix}-pub-${i}`,
          topic: spec.topicOf(i),
          qos: spec.qos,
          payloadBytes: spec.payloadBytes,
          seed: options.seed,
          index: i,
          batch: spec.batch,
          pingsInFlight: spec.pingsInFlight,
          window: spec.window,
          refillMin: spec.refillMin,
          ...(spec.topicsPerPublisher === undefined ? {} : { topics: spec.topicsPerPublisher }),
        }),
      );
    }
    await group.allReady(publishers);

    group.broadcast({ type: 'start' }, publishers);
    await sleep(spec.warmupSec * 1000);
    group.broadcast({ type: 'mark', phase: 'begin' });
    const window = new MeasuredWindow(target.pid, group.pids);
    await sleep(spec.durationSec * 1000);
    group.broadcast({ type: 'mark', phase: 'end' });
    const figures = window.end();

    const pubReports = (await group.stopAll(publishers)) as PublisherReport[];
    // Let what is already on its way reach the subscribers before they disconnect (not counted).
    await sleep(200);
    const subReports = (await group.stopAll(subscribers)) as SubscriberReport[];

    const sec = figures.windowSec;
    const published = pubReports.reduce((n, r) => n + r.sentInWindow, 0);
    const acked = pubReports.reduce((n, r) => n + r.ackedInWindow, 0);
    const delivered = subReports.reduce((n, r) => n + r.receivedInWindow, 0);
    const latency = summarizeLatency(mergeHistograms(subReports.map((r) => r.latency)));
    const ackLatency = spec.qos === 1 ? summarizeLatency(mergeHistograms(pubReports.map((r) => r.ackLatency))) : null;
    const headlineCount = spec.headline === 'acked' ? acked : delivered;

    const warnings = commonWarnings(figures, delivered);
    const expectedDeliveries = published * (spec.subscribers > 1 ? spec.subscribers : 1);
    if (spec.qos === 1 && delivered < 0.9 * acked) {
      warnings.push(`the subscriber falls behind: ${(delivered / sec).toFixed(0)} delivered/s vs ${(acked / sec).toFixed(0)} acknowledged/s`);
    }
    if (spec.qos === 0 && expectedDeliveries > 0 && delivered < 0.9 * expectedDeliveries) {
      warnings.push(`deliveries lag publishes: ${delivered} delivered of ${expectedDeliveries} expected in the window`);
    }

    return {
      params: {
        publishers: spec.publishers,
        subscribers: spec.subscribers,
        subscriberProcesses: subscribers.length,
        qos: spec.qos,
        payloadBytes: spec.payloadBytes,
        batch: spec.batch,
        pingsInFlight: spec.pingsInFlight,
        window: spec.window,
        refillMin: spec.refillMin,
        warmupSec: spec.warmupSec,
        durationSec: spec.durationSec,
        seed: options.seed,
        loadgen: options.loadgen,
        ...(spec.topicsPerPublisher === undefined ? {} : { topicsPerPublisher: spec.topicsPerPublisher }),
        ...extra?.params,
      },
      windowSec: sec,
      throughput: {
        value: headlineCount / sec,
        unit: 'msg/s',
        what: spec.headline === 'acked' ? 'PUBLISHes acknowledged to publishers' : 'PUBLISHes delivered to subscribers',
      },
      metrics: {
        publishedPerSec: published / sec,
        ackedPerSec: spec.qos === 1 ? acked / sec : null,
        deliveredPerSec: delivered / sec,
        deliveredToAckedRatio: spec.qos === 1 && acked > 0 ? delivered / acked : null,
        ackP50Micros: ackLatency?.p50Micros ?? null,
        ackP99Micros: ackLatency?.p99Micros ?? null,
      },
      latency,
      broker: finalBrokerFigures(figures.broker),
      loadgen: figures.loadgen,
      // Per delivered message: for fan-out one publish is many deliveries, and delivery is the
      // work both sides do per message (broker writes it, a subscriber reads it).
      cpuMicrosPerUnit: { broker: microsPer(figures.broker?.cpuSec, delivered), loadgen: microsPer(figures.loadgen.cpuSec, delivered) },
      warnings,
    };
  } finally {
    group.killAll();
    await extra?.close();
  }
}
