/**
 * The MQTT side of direct methods with raw mqtt.js clients: only the call's target can answer it
 * (another module echoing its request id is ignored), and a target whose connection closes before
 * answering makes the call end with 404 DeviceNotOnline at once, not at the timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { sasLogin } from '../helpers/sas-hub.js';
import { connectionString, EDGE, HUB, invoke, open, setUpHub, tearDownHub, type MethodsHub } from './methods-sdk-harness.js';

let hub: MethodsHub | undefined;
let caller: any;
const raw: mqtt.MqttClient[] = [];

async function connect(moduleId: string): Promise<mqtt.MqttClient> {
  const h = hub!;
  const record = h.registry.get(EDGE, moduleId);
  assert.ok(record?.authentication.type === 'sas');
  const client = await mqtt.connectAsync({ host: 'localhost', port: h.mqttPort, protocol: 'mqtts', ca: h.ca, ...sasLogin(HUB, record.authentication.primaryKey, EDGE, moduleId), protocolVersion: 4, reconnectPeriod: 0 });
  raw.push(client);
  return client;
}

before(async () => {
  hub = await setUpHub([[EDGE, 'caller'], [EDGE, 'target'], [EDGE, 'intruder'], [EDGE, 'leaver']]);
  caller = await open(hub, 'module', connectionString(hub, EDGE, 'caller'));
});
after(async () => {
  for (const client of raw) client.end(true);
  await tearDownHub(hub);
});

describe('direct-method responses over MQTT', () => {
  it('takes the answer only from the target: another module using its request id changes nothing', async () => {
    const target = await connect('target');
    const intruder = await connect('intruder');
    target.on('message', (topic, payload) => {
      const rid = topic.slice(topic.indexOf('?$rid=') + '?$rid='.length);
      // The intruder answers first with the target's request id; then the target answers.
      intruder.publish(`$iothub/methods/res/500/?$rid=${rid}`, JSON.stringify({ forged: true }), { qos: 1 }, () => {
        target.publish(`$iothub/methods/res/200/?$rid=${rid}`, JSON.stringify({ echoed: JSON.parse(payload.toString()) }), { qos: 0 });
      });
    });
    await target.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    const result = await invoke(caller, { deviceId: EDGE, moduleId: 'target' }, { methodName: 'echo', payload: { x: 1 }, responseTimeoutInSeconds: 30 });
    assert.deepEqual(result, { status: 200, body: { status: 200, payload: { echoed: { x: 1 } } } });
  });

  it('ends a call with 404 at once when the target disconnects before answering', async () => {
    const leaver = await connect('leaver');
    leaver.on('message', () => leaver.end(true));
    await leaver.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    const startedAt = Date.now();
    const result = await invoke(caller, { deviceId: EDGE, moduleId: 'leaver' }, { methodName: 'bye', payload: null, responseTimeoutInSeconds: 60 });
    assert.equal(result.status, 404);
    assert.equal(result.body.errorCode, 404103);
    assert.match(result.body.message, /disconnected before answering/);
    assert.ok(Date.now() - startedAt < 30_000, `took ${Date.now() - startedAt} ms`);
  });
});
