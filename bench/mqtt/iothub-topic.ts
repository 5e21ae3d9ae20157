/**
 * Scenario `iothub-topic`: the IoT Hub dialect's per-PUBLISH translation cost.
 *
 * Measures, single-threaded, on a typical telemetry topic with 3 properties (what the Node SDK
 * sends for a message with an id, a content type and one application property):
 *   - classify:      classifyPublishTopic (template match + property-bag decode)
 *   - classify+hub:  the above plus toHubMessage (system properties, UUID, timestamp)
 *   - naive:         split('&') + split('=') + decodeURIComponent, a reference peer measured in the
 *                    same run, so `ratioToNaive` is comparable across machines (STYLE.md, Benchmarks)
 * Each figure is the median of 7 trials of ~200 ms after a warm-up. Output: one JSON object.
 *
 * Run: npx tsc -p . && node dist/bench/mqtt/iothub-topic.js
 */
import { classifyPublishTopic, toHubMessage } from '../../src/hub/transport/mqtt/iothub/index.js';

const TOPIC = 'devices/dev1/messages/events/%24.mid=mid-1&%24.ct=application%2Fjson&alert=high%20temp';
const IDENTITY = { deviceId: 'dev1' };
const PAYLOAD = new Uint8Array(64);
const CONTEXT = { edgeDeviceId: 'edge1' };
const TRIALS = 7;
const TRIAL_MS = 200;
const BATCH = 2_000;

let sink = 0;

function classifyOnly(): void {
  const result = classifyPublishTopic(IDENTITY, TOPIC);
  if (result.ok && result.topic.kind === 'telemetry') sink += result.topic.deviceId.length;
}

function classifyAndConvert(): void {
  const result = classifyPublishTopic(IDENTITY, TOPIC);
  if (result.ok && result.topic.kind === 'telemetry') sink += toHubMessage(IDENTITY, result.topic, PAYLOAD, 1_700_000_000_000, CONTEXT).source.length;
}

function naive(): void {
  const bag = TOPIC.slice(TOPIC.lastIndexOf('/') + 1);
  const properties: Record<string, string> = {};
  for (const pair of bag.split('&')) {
    const [key = '', value = ''] = pair.split('=');
    properties[decodeURIComponent(key)] = decodeURIComponent(value);
  }
  sink += Object.keys(properties).length;
}

function opsPerSecond(operation: () => void): number {
  const deadline = performance.now() + TRIAL_MS;
  let operations = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < BATCH; i++) operation();
    operations += BATCH;
  }
  return operations / ((performance.now() - start) / 1_000);
}

function median(operation: () => void): number {
  opsPerSecond(operation); // warm-up: let the JIT settle
  const trials = Array.from({ length: TRIALS }, () => opsPerSecond(operation)).sort((a, b) => a - b);
  return trials[Math.floor(TRIALS / 2)]!;
}

const classify = median(classifyOnly);
const classifyHub = median(classifyAndConvert);
const reference = median(naive);

process.stdout.write(
  JSON.stringify({
    scenario: 'iothub-topic',
    topic: TOPIC,
    node: process.version,
    classifyOpsPerSec: Math.round(classify),
    classifyNsPerOp: Math.round(1e9 / classify),
    classifyToHubMessageOpsPerSec: Math.round(classifyHub),
    naiveOpsPerSec: Math.round(reference),
    ratioToNaive: Number((classify / reference).toFixed(3)),
    rssBytes: process.memoryUsage().rss,
    sink: sink > 0,
  }) + '\n',
);
