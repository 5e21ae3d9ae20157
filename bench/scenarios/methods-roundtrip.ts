// methods-roundtrip — direct methods module → module through a real hub process: a caller module
// POSTs to the HTTPS API (/twins/{edge}/modules/target/methods, its SAS token, keep-alive TLS), the
// hub sends `$iothub/methods/POST/echo/?$rid=…` over MQTT/TLS to the target module, which answers
// at once on `$iothub/methods/res/200/?$rid=…`, and the hub answers the HTTPS request.
//
// Measures round trips/s (a 64-byte JSON payload each way):
//   concurrent   16 calls outstanding (several modules calling at once; headline)
//   serial       one call at a time, awaited (one module waiting for each answer)
// Metrics: serialMicros (µs per awaited round trip). Not in the gate.
// Run: npm run bench -- methods-roundtrip [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import { BENCH_EDGE_DEVICE, BENCH_HUB_ARGS, BENCH_IOT_HUB, benchModules, loginOf, registerIdentities, signSasToken } from '../lib/sas-devices.js';
import type { LocalScenario } from './scenario.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUTSTANDING = 16;
const PAYLOAD = { reading: 21.5, unit: 'C', sequence: 123456, note: 'bench' };

export const methodsRoundtrip: LocalScenario = {
  kind: 'local',
  name: 'methods-roundtrip',
  description: 'direct methods module→module through a hub process (HTTPS in, MQTT/TLS to the target and back): round trips/s, 16 outstanding and serial',
  async run(runOptions) {
    const dataDir = mkdtempSync(join(tmpdir(), 'outpost-bench-methods-'));
    const [caller, target] = benchModules(runOptions.seed, ['caller', 'target']);
    registerIdentities(dataDir, [caller!, target!]);
    const hub = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'outpost.js'), 'hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--log-level', 'info', ...BENCH_HUB_ARGS], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    hub.stderr.resume();
    let client: mqtt.MqttClient | undefined;
    const agent = new Agent({ keepAlive: true, maxSockets: OUTSTANDING });
    try {
      const ready = await new Promise<Record<string, any>>((resolve, reject) => {
        const lines = createInterface({ input: hub.stdout });
        hub.once('exit', (code) => reject(new Error(`the hub exited (${code}) before hub.ready`)));
        lines.on('line', (text) => {
          try {
            const line = JSON.parse(text) as Record<string, any>;
            if (line['event'] === 'hub.ready') resolve(line);
          } catch {
            // not a log line
          }
        });
      });
      const ca = readFileSync(String(ready['caFile']), 'utf8');
      const login = loginOf(target!);
      client = await mqtt.connectAsync({ host: 'localhost', port: Number(ready['ports'].mqtt), protocol: 'mqtts', ca, ...login, protocolVersion: 4, reconnectPeriod: 0 });
      const answer = client;
      answer.on('message', (topic, payload) => {
        const rid = topic.slice(topic.indexOf('?$rid=') + 6);
        answer.publish(`$iothub/methods/res/200/?$rid=${rid}`, payload, { qos: 0 });
      });
      await answer.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
      const httpsPort = Number(ready['ports'].https);
      const body = JSON.stringify({ methodName: 'echo', payload: PAYLOAD, responseTimeoutInSeconds: 30 });
      const headers = { 'content-type': 'application/json', authorization: signSasToken(BENCH_IOT_HUB, caller!), 'x-ms-edge-moduleId': `${BENCH_EDGE_DEVICE}/caller` };
      const call = (): Promise<void> =>
        new Promise((resolve, reject) => {
          const req = request({ host: 'localhost', port: httpsPort, ca, agent, method: 'POST', path: `/twins/${BENCH_EDGE_DEVICE}/modules/target/methods`, headers }, (response) => {
            response.resume();
            response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`method call answered ${response.statusCode}`))));
          });
          req.on('error', reject);
          req.end(body);
        });
      const variants: VariantSpec[] = [
        {
          name: 'concurrent',
          what: `${OUTSTANDING} calls outstanding`,
          unit: 'round trips',
          pass: async () => {
            await Promise.all(Array.from({ length: OUTSTANDING }, call));
            return OUTSTANDING;
          },
        },
        {
          name: 'serial',
          what: 'one call at a time, awaited',
          unit: 'round trips',
          pass: async () => {
            await call();
            return 1;
          },
        },
      ];
      const timing = microTiming(runOptions);
      const measured = await measureVariants(variants, timing, 'concurrent');
      const serial = measured.find((v) => v.name === 'serial');
      return microOutcome({
        params: { outstanding: OUTSTANDING, seed: runOptions.seed },
        variants: measured,
        headline: 'concurrent',
        timing,
        metrics: { serialMicros: serial === undefined ? null : 1e6 / serial.value },
      });
    } finally {
      agent.destroy();
      client?.end(true);
      hub.kill('SIGTERM');
      await new Promise((resolve) => (hub.exitCode !== null ? resolve(undefined) : hub.once('exit', resolve)));
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
