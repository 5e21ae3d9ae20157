/**
 * Routes of a hub run alone come from its configuration file (`outpost hub --config`), and an
 * edit of the file changes routing without a restart and without losing messages in flight; an
 * invalid edit is rejected and the routes in force stay. The broker policy follows the same file.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { runOutpost, stopQuietly, tempDir, type LogLine, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentities, connectSas, startSasHub, type SasHub } from '../helpers/sas-hub.js';

const EDGE = 'edge-c';
const HUB = 'config.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-config-routes-');
const dataDir = join(dir.path, 'data');
const configFile = join(dir.path, 'outpost.yaml');
const site = { dataDir, hub: HUB, env };
let hub: SasHub | undefined;
let outpost: OutpostProcess | undefined;

const POLICY_WIDE = `auth:
  policy:
    - identities: ["{{iot:identity}}"]
      allow: [{ operations: [mqtt:connect] }, { operations: [mqtt:publish, mqtt:subscribe], resources: ["plant/#", "alerts/#"] }]
`;
/** Publishing to alerts/# stays allowed; subscribing to it does not. */
const POLICY_NARROW = `auth:
  policy:
    - identities: ["{{iot:identity}}"]
      allow: [{ operations: [mqtt:connect] }, { operations: [mqtt:publish], resources: ["plant/#", "alerts/#"] }, { operations: [mqtt:subscribe], resources: ["plant/#"] }]
`;

function config(input: string, policy = POLICY_WIDE): string {
  return `routes:\n  toWorker: FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/worker/inputs/${input}")\n${policy}`;
}

/** As editors do: write a new file and move it over the old one. */
function replaceConfig(text: string): void {
  writeFileSync(`${configFile}.tmp`, text);
  renameSync(`${configFile}.tmp`, configFile);
}

const connect = (deviceId: string, moduleId?: string): Promise<mqtt.MqttClient> => connectSas(hub!, site, deviceId, moduleId);

/** Messages the worker module received, as `input:payload`, and a wait for a count. */
function inbox(worker: mqtt.MqttClient): { received: string[]; until(n: number): Promise<void> } {
  const received: string[] = [];
  const waiters: (() => void)[] = [];
  worker.on('message', (topic, payload) => {
    received.push(`${topic.split('/')[5]}:${payload.toString()}`);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    received,
    until: (n) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${received.length} of ${n}`)), 30_000);
        const check = () => (received.length >= n ? (clearTimeout(timer), resolve()) : waiters.push(check));
        check();
      }),
  };
}

const after_ = (n: number, event: string) => (line: LogLine) => line.event === event && outpost!.lines.filter((l) => l.event === event).indexOf(line) >= n;
const count = (event: string) => outpost!.lines.filter((l) => l.event === event).length;

before(async () => {
  writeFileSync(configFile, config('first'));
  await addIdentities(site, [['sensor-1'], ['watcher'], [EDGE, '--module', 'worker']]);
  hub = await startSasHub(site, 'hub', ['--config', configFile]);
  outpost = hub.outpost;
});

after(async () => {
  await stopQuietly(outpost);
  dir.remove();
});

describe('routes from the configuration file of a hub run alone', () => {
  let worker: mqtt.MqttClient;
  let sensor: mqtt.MqttClient;
  let box: ReturnType<typeof inbox>;

  it('routes along the routes of the configuration file', async () => {
    worker = await connect(EDGE, 'worker');
    box = inbox(worker);
    await worker.subscribeAsync(`devices/${EDGE}/modules/worker/#`, { qos: 1 });
    sensor = await connect('sensor-1');
    for (let i = 0; i < 5; i++) await sensor.publishAsync('devices/sensor-1/messages/events/', `s${i}`, { qos: 1 });
    await box.until(5);
    assert.deepEqual(box.received, ['first:s0', 'first:s1', 'first:s2', 'first:s3', 'first:s4']);
    assert.ok(outpost!.lines.some((l) => l.event === 'config.watching'));
  });

  it('takes an edited route without a restart, losing no message published across the edit', async () => {
    box.received.length = 0;
    const replacedBefore = count('hub.routes_replaced');
    const total = 600;
    const window = 32;
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < total; i++) {
      // The edit lands while messages are in flight; the last third is published after it applied.
      if (i === 200) {
        replaceConfig(config('second'));
      }
      if (i === 400) await outpost!.waitFor(after_(replacedBefore, 'hub.routes_replaced'));
      const sent = sensor.publishAsync('devices/sensor-1/messages/events/', `m${i}`, { qos: 1 });
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
      if (inFlight.size >= window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await box.until(total);

    const indexOf = (entry: string) => Number(entry.split(':')[1]!.slice(1));
    const first = box.received.filter((r) => r.startsWith('first:')).map(indexOf).sort((a, b) => a - b);
    const second = box.received.filter((r) => r.startsWith('second:')).map(indexOf).sort((a, b) => a - b);
    // Every message exactly once; the route in force changed once, between two messages.
    assert.equal(box.received.length, total);
    assert.deepEqual([...first, ...second], Array.from({ length: total }, (_, i) => i));
    assert.ok(first.length >= 200 && second.length >= 200, `first ${first.length}, second ${second.length}`);
    const replaced = outpost!.lines.filter((l) => l.event === 'hub.routes_replaced').at(-1);
    assert.equal(replaced?.source, 'configuration');
  });

  it('rejects an invalid edit with the route error and keeps the routes in force', async () => {
    box.received.length = 0;
    const rejectedBefore = count('config.reload_rejected');
    const replacedBefore = count('hub.routes_replaced');
    replaceConfig(config('third').replace('INTO BrokeredEndpoint', 'INTA BrokeredEndpoint'));
    const rejected = await outpost!.waitFor(after_(rejectedBefore, 'config.reload_rejected'));
    assert.equal(rejected.level, 'error');
    const problems = rejected.problems as { path: string; code: string; message: string }[];
    assert.deepEqual(problems.map((p) => [p.path, p.code]), [['routes.toWorker', 'OUTPOST_ROUTE_SYNTAX']]);
    assert.match(problems[0]!.message, /line 1, column \d+/);

    for (let i = 0; i < 10; i++) await sensor.publishAsync('devices/sensor-1/messages/events/', `k${i}`, { qos: 1 });
    await box.until(10);
    assert.ok(box.received.every((r) => r.startsWith('second:')), box.received.join(' '));
    assert.equal(count('hub.routes_replaced'), replacedBefore);
  });

  it('applies an edited broker policy from the same file, taking away only the lost subscription', async () => {
    const watcher = await connect('watcher');
    const topics: string[] = [];
    watcher.on('message', (topic) => topics.push(topic));
    await watcher.subscribeAsync(['plant/#', 'alerts/#'], { qos: 1 });
    const replacedBefore = count('auth.policy_replaced');
    replaceConfig(config('second', POLICY_NARROW));
    const replaced = await outpost!.waitFor(after_(replacedBefore, 'auth.policy_replaced'));
    assert.match(String(replaced.source), /^configuration /);
    const revoked = outpost!.lines.filter((l) => l.event === 'auth.policy_revoked').map((l) => [l.clientId, l.connect, l.subscriptions]);
    assert.deepEqual(revoked, [['watcher', false, ['alerts/#']]]);
    // alerts/1 then plant/1 from one publisher: had alerts/# stayed, alerts/1 would arrive first.
    await sensor.publishAsync('alerts/1', 'x', { qos: 1 });
    await sensor.publishAsync('plant/1', 'y', { qos: 1 });
    await new Promise<void>((resolve) => (topics.length > 0 ? resolve() : watcher.once('message', () => resolve())));
    assert.deepEqual(topics, ['plant/1']);
    assert.ok(worker.connected && sensor.connected && watcher.connected);
    await Promise.all([watcher.endAsync(), sensor.endAsync(), worker.endAsync()]);
  });

  it('`outpost check` names a bad route of the configuration with its position', async () => {
    const bad = join(dir.path, 'bad.yaml');
    writeFileSync(bad, config('x').replace('WHERE NOT', 'WHERE NOT NOT ('));
    const checked = await runOutpost(['check', '--config', bad, '--data-dir', join(dir.path, 'check-data')], { env });
    assert.equal(checked.code, 2);
    assert.match(checked.stderr, /routes\.toWorker: .* at line 1, column \d+ \(offset \d+\) \[config file .*bad\.yaml\] \(OUTPOST_ROUTE_SYNTAX\)/);
  });
});
