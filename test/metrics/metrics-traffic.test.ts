/**
 * The metrics move with real traffic: an in-process hub on port 0, a device and a module with SAS
 * tokens (mqtt.js), a route from the device to the module's input. Read from the plain metrics
 * port and from GET /metrics on the HTTPS listener, whose SAS check is tested too.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { Runtime } from '../../src/main.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/outpost-process.js';
import { addIdentities, primaryKey, sasLogin, type SasHubSite } from '../helpers/sas-hub.js';
import { promtool, unexpectedProblems } from './promtool.js';

const EDGE = 'edge1';
const HUB = 'metrics-hub.azure-devices.net';

function get(url: string, options: { ca?: string; authorization?: string } = {}): Promise<{ status: number; body: string; type: string }> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const headers = options.authorization === undefined ? {} : { authorization: options.authorization };
    const req = request(url, { headers, ...(options.ca === undefined ? {} : { ca: options.ca, servername: 'localhost' }) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, type: String(response.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of the one sample whose name and labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function connect(port: number, ca: string, login: { clientId: string; username: string; password: string }): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtts://localhost:${port}`, { ...login, ca, reconnectPeriod: 0, protocolVersion: 4 });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

describe('metrics under MQTT traffic', () => {
  const dir = tempDir('outpost-metrics-');
  const site: SasHubSite = { dataDir: join(dir.path, 'data'), hub: HUB, env: { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB } };
  let runtime: Runtime;
  let metricsUrl: string;
  let httpsUrl: string;
  let ca: string;
  const clients: mqtt.MqttClient[] = [];

  before(async () => {
    await addIdentities(site, [['dev1'], [EDGE, '--module', 'm1']]);
    const file = join(dir.path, 'outpost.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: site.dataDir,
        deviceId: EDGE,
        iotHubHostname: HUB,
        mqtt: { port: 0 },
        https: { port: 0 },
        amqp: { enabled: false },
        metrics: { port: 0 },
        store: { shards: 1 },
        routes: { toModule: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/m1/inputs/in1")', fromModule: 'FROM /messages/modules/m1/outputs/keep INTO $upstream' },
      }),
    );
    const { config } = loadConfig({ env: {}, configFile: file, cwd: dir.path });
    runtime = await Runtime.start({ config, logger: createLogger({ level: 'error' }), hub: true, agent: false });
    metricsUrl = `http://127.0.0.1:${runtime.metricsPort}/metrics`;
    httpsUrl = `https://localhost:${runtime.ports!.https}/metrics`;
    ca = runtime.hub!.credentials.ca;
  });

  after(async () => {
    for (const client of clients) client.end(true);
    await runtime?.stop('test');
    dir.remove();
  });

  it('counts messages received, sent and their sizes, connections and twin calls; promtool accepts the scrape', async () => {
    const mqttPort = runtime.ports!.mqtt!;
    const module = await connect(mqttPort, ca, sasLogin(HUB, await primaryKey(site, EDGE, 'm1'), EDGE, 'm1'));
    clients.push(module);
    const received: string[] = [];
    module.on('message', (topic) => received.push(topic));
    await module.subscribeAsync(`devices/${EDGE}/modules/m1/inputs/#`, { qos: 1 });
    const device = await connect(mqttPort, ca, sasLogin(HUB, await primaryKey(site, 'dev1'), 'dev1'));
    clients.push(device);
    const before = (await get(metricsUrl)).body;
    assert.equal(sample(before, 'edgehub_messages_received_total', { id: 'dev1' }), undefined);
    for (let i = 0; i < 5; i++) await device.publishAsync('devices/dev1/messages/events/', Buffer.alloc(100 + i * 1000), { qos: 1 });
    await eventually(() => (received.length >= 5 ? true : undefined), 20_000, 'five messages at the module input');
    // The module's PUBACKs reach the store after the module got the messages: wait for the count.
    let scrape = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      scrape = (await get(metricsUrl)).body;
      if (sample(scrape, 'edgehub_messages_sent_total', { from: 'dev1' }) === 5) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(sample(scrape, 'edgehub_messages_received_total', { id: 'dev1', route_output: '' }), 5);
    assert.equal(sample(scrape, 'edgehub_messages_sent_total', { from: 'dev1', to: `${EDGE}/m1`, to_route_input: 'in1', priority: '2000000000', ms_telemetry: 'True' }), 5);
    assert.equal(sample(scrape, 'edgehub_message_size_bytes_count', { id: 'dev1' }), 5);
    assert.equal(sample(scrape, 'edgehub_message_size_bytes_sum', { id: 'dev1' }), 5 * 100 + 1000 * (0 + 1 + 2 + 3 + 4));
    assert.equal(sample(scrape, 'edgehub_message_size_bytes_bucket', { id: 'dev1', le: '256' }), 1);
    assert.equal(sample(scrape, 'edgehub_message_size_bytes_bucket', { id: 'dev1', le: '4096' }), 4);
    assert.equal(sample(scrape, 'edgehub_message_size_bytes_bucket', { id: 'dev1', le: '+Inf' }), 5);
    assert.equal(sample(scrape, 'edgehub_message_process_duration_seconds_count', { from: 'dev1', to: `${EDGE}/m1` }), 5);
    assert.equal(sample(scrape, 'edgehub_client_connect_success_total', { id: 'dev1' }), 1);
    assert.equal(sample(scrape, 'edgehub_client_connect_success_total', { id: `${EDGE}/m1` }), 1);
    assert.equal(sample(scrape, 'edgehub_connected_clients'), 2);
    assert.equal(sample(scrape, 'outpost_store_accepted_total'), 5);
    assert.equal(sample(scrape, 'outpost_store_delivered_total'), 5);
    assert.equal(sample(scrape, 'outpost_route_evaluations_total'), 5);
    assert.ok((sample(scrape, 'outpost_store_worker_round_trip_seconds_count', { shard: '0' }) ?? 0) >= 1);
    assert.equal(sample(scrape, 'edgehub_queue_length', { endpoint: '/modules/m1/inputs/in1' }), 0);
    assert.equal(sample(scrape, 'iothub_not_a_metric'), undefined);
    assert.match(scrape, new RegExp(`instance_number="[0-9a-f-]{36}"`));

    // A module's message with no route to take it is dropped as no_route; a twin GET is counted.
    await module.publishAsync(`devices/${EDGE}/modules/m1/messages/events/%24.on=out9`, 'x', { qos: 1 });
    const twinAnswer = new Promise<void>((resolve) => module.on('message', (topic) => topic.startsWith('$iothub/twin/res/') && resolve()));
    await module.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    await module.publishAsync('$iothub/twin/GET/?$rid=1', '', { qos: 0 });
    await twinAnswer;
    const bad = await connect(mqttPort, ca, { clientId: 'dev1', username: `${HUB}/dev1/?api-version=2021-04-12`, password: 'SharedAccessSignature sr=x&sig=y&se=1' }).catch((error: Error) => error);
    assert.ok(bad instanceof Error);
    device.end(true);
    let later = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      later = (await get(metricsUrl)).body;
      if (sample(later, 'edgehub_client_disconnect_total', { id: 'dev1' }) === 1 && sample(later, 'edgehub_gettwin_total', { id: `${EDGE}/m1` }) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(sample(later, 'edgehub_gettwin_total', { source: 'edge_hub', id: `${EDGE}/m1` }), 1);
    assert.equal(sample(later, 'edgehub_gettwin_duration_seconds_count', { id: `${EDGE}/m1` }), 1);
    assert.equal(sample(later, 'edgehub_client_disconnect_total', { id: 'dev1' }), 1);
    assert.equal(sample(later, 'edgehub_client_connect_failed_total', { id: 'dev1', reason: 'not_authenticated', protocol: 'mqtt' }), 1);
    assert.equal(sample(later, 'edgehub_messages_received_total', { id: `${EDGE}/m1`, route_output: 'out9' }), 1);
    assert.equal(sample(later, 'edgehub_messages_dropped_total', { reason: 'no_route', from: `${EDGE}/m1`, from_route_output: 'out9' }), 1);
    const checked = promtool(later);
    assert.deepEqual(unexpectedProblems(checked.problems), [], checked.problems.join('\n'));
  });

  it('GET /metrics on HTTPS answers a SAS token of the edge device\'s module, and refuses others', async () => {
    const none = await get(httpsUrl, { ca });
    assert.equal(none.status, 401);
    const moduleToken = sasLogin(HUB, await primaryKey(site, EDGE, 'm1'), EDGE, 'm1').password;
    const ok = await get(httpsUrl, { ca, authorization: moduleToken });
    assert.equal(ok.status, 200, ok.body);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
    assert.ok(sample(ok.body, 'edgehub_messages_received_total', { id: 'dev1' }) !== undefined);
    // A child device's valid token is not enough: the series name every device.
    const childToken = sasLogin(HUB, await primaryKey(site, 'dev1'), 'dev1').password;
    assert.equal((await get(httpsUrl, { ca, authorization: childToken })).status, 401);
    // A module token with a wrong signature.
    assert.equal((await get(httpsUrl, { ca, authorization: moduleToken.replace(/sig=[^&]+/, 'sig=AAAA') })).status, 401);
  });
});
