/**
 * What the twin-gap tests share (upstream-twin-*.test.ts). The relay's twin gaps closed (docs/upstream.md, "Twin GET, the re-pull and the stored outbox"):
 * reported patches waiting for the parent survive a restart of the child (kill -9), a client's
 * twin GET asks the parent (the copy here when the link is down or slow), and the re-pull after a
 * reconnect is rate-limited per twin (upstream.minTwinSyncPeriod) and deferred, not skipped.
 * Real hubs on loopback, mqtt.js clients on the child speaking IoT Hub's MQTT twin topics.
 */
import assert from 'node:assert/strict';
import type mqtt from 'mqtt';
import { parentControl } from './relay-harness.js';
import type { TwoHubs } from './upstream-harness.js';

const TWIN_RESPONSE_TIMEOUT_MS = 30_000;

/** `$iothub/twin/GET` and its answer (`$iothub/twin/res/{status}/?$rid=`), with when it came. */
export async function twinGet(client: mqtt.MqttClient, rid: string): Promise<{ status: number; body: any; atMs: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no answer to twin GET ${rid} within ${TWIN_RESPONSE_TIMEOUT_MS} ms`));
    }, TWIN_RESPONSE_TIMEOUT_MS);
    const onMessage = (topic: string, payload: Buffer) => {
      if (!topic.startsWith('$iothub/twin/res/') || !topic.endsWith(`$rid=${rid}`)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ status: Number(topic.split('/')[3]), body: JSON.parse(payload.toString('utf8') || '{}'), atMs: Date.now() });
    };
    client.on('message', onMessage);
    client.publish(`$iothub/twin/GET/?$rid=${rid}`, '');
  });
}

export async function reportOverMqtt(client: mqtt.MqttClient, rid: string, patch: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to reported PATCH ${rid}`)), TWIN_RESPONSE_TIMEOUT_MS);
    const onMessage = (topic: string) => {
      if (!topic.startsWith('$iothub/twin/res/') || !topic.includes(`$rid=${rid}`)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(Number(topic.split('/')[3]));
    };
    client.on('message', onMessage);
    client.publish(`$iothub/twin/PATCH/properties/reported/?$rid=${rid}`, JSON.stringify(patch));
  });
}

export async function setDesiredOnParent(hubs: TwoHubs, deviceId: string, patch: unknown): Promise<number> {
  const answer = await parentControl(hubs).call('PATCH', `/v1/twins/${deviceId}/desired`, JSON.stringify(patch));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as { version: number }).version;
}

export async function parentReported(hubs: TwoHubs, deviceId: string): Promise<any> {
  const answer = await parentControl(hubs).call('GET', `/v1/twins/${deviceId}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as any).properties.reported;
}

