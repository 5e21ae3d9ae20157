import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemProperty } from '../../../src/hub/message/index.js';
import {
  classifyPublishTopic,
  toHubMessage,
  type ClientIdentity,
  type PublishContext,
  type TelemetryTopic,
} from '../../../src/hub/transport/mqtt/iothub/index.js';

const NOW_MS = Date.UTC(2026, 10, 24, 1, 2, 3, 456);
const EDGE = 'edge1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function topicOf(identity: ClientIdentity, topic: string): TelemetryTopic {
  const result = classifyPublishTopic(identity, topic);
  assert.ok(result.ok && result.topic.kind === 'telemetry', topic);
  return result.topic;
}

function message(identity: ClientIdentity, topic: string, context: Partial<PublishContext> = {}, payload = new Uint8Array([1, 2, 3])) {
  return toHubMessage(identity, topicOf(identity, topic), payload, NOW_MS, { edgeDeviceId: EDGE, ...context });
}

describe('toHubMessage', () => {
  it('maps every system key of the bag to its system property and keeps the rest as application properties', () => {
    const bag = [
      '%24.mid=m1', '%24.cid=c1', '%24.to=%2Fdevices%2Fd', '%24.uid=u1', '%24.ct=application%2Fjson', '%24.ce=utf-8',
      '%24.exp=2026-12-01T00%3A00%3A00.000Z', '%24.schema=s1', '%24.ctime=2026-11-24T00%3A00%3A00Z', 'iothub-operation=op',
      '%24.ifid=urn%3Aif', '%24.sub=comp1', 'alert=high%20temp', 'flag', 'empty=', '%24.other=x', 'ack=full',
    ].join('&');
    const hub = message({ deviceId: 'leaf' }, `devices/leaf/messages/events/${bag}`);
    const sys = hub.systemProperties;
    assert.equal(sys[SystemProperty.MessageId], 'm1');
    assert.equal(sys[SystemProperty.CorrelationId], 'c1');
    assert.equal(sys[SystemProperty.To], '/devices/d');
    assert.equal(sys[SystemProperty.UserId], 'u1');
    assert.equal(sys[SystemProperty.ContentType], 'application/json');
    assert.equal(sys[SystemProperty.ContentEncoding], 'utf-8');
    assert.equal(sys[SystemProperty.AbsoluteExpiryTime], '2026-12-01T00:00:00.000Z');
    assert.equal(sys[SystemProperty.MessageSchema], 's1');
    assert.equal(sys[SystemProperty.CreationTime], '2026-11-24T00:00:00Z');
    assert.equal(sys[SystemProperty.Operation], 'op');
    assert.equal(sys[SystemProperty.InterfaceId], 'urn:if');
    assert.equal(sys[SystemProperty.ComponentName], 'comp1');
    assert.deepEqual(hub.properties, { alert: 'high temp', flag: null, empty: '', '$.other': 'x', ack: 'full' });
  });

  it('sets the connection ids from the authenticated identity, never from the topic', () => {
    const spoofed = message({ deviceId: 'leaf' }, 'devices/victim/modules/m/messages/events/%24.cdid=victim&%24.cmid=m');
    assert.equal(spoofed.systemProperties[SystemProperty.ConnectionDeviceId], 'leaf');
    assert.equal(Object.hasOwn(spoofed.systemProperties, SystemProperty.ConnectionModuleId), false);
    assert.equal(spoofed.source, '/messages/');
    assert.deepEqual(spoofed.properties, { '$.cdid': 'victim', '$.cmid': 'm' }, 'client-sent $.cdid/$.cmid are mere application properties');

    const fromModule = message({ deviceId: EDGE, moduleId: 'filter' }, `devices/${EDGE}/modules/filter/messages/events/`);
    assert.equal(fromModule.systemProperties[SystemProperty.ConnectionDeviceId], EDGE);
    assert.equal(fromModule.systemProperties[SystemProperty.ConnectionModuleId], 'filter');
  });

  it('derives the routing source from the identity and the output name', () => {
    const module = { deviceId: EDGE, moduleId: 'filter' };
    assert.equal(message(module, `devices/${EDGE}/modules/filter/messages/events/%24.on=alerts&p=q/`).source, '/messages/modules/filter/outputs/alerts/');
    assert.equal(message(module, `devices/${EDGE}/modules/filter/messages/events/`).source, '/messages/modules/filter/');
    const output = message(module, `devices/${EDGE}/modules/filter/messages/events/%24.on=alerts`);
    assert.equal(output.systemProperties[SystemProperty.OutputName], 'alerts');
    assert.equal(message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/%24.on=x').source, '/messages/', 'a device has no outputs');
  });

  it('adds edgeMessageId, enqueuedTime, edgeHubOriginInterface and modelId', () => {
    const downstream = message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/', { modelId: 'dtmi:x;1' });
    const sys = downstream.systemProperties;
    assert.match(sys[SystemProperty.EdgeMessageId] ?? '', UUID);
    assert.equal(sys[SystemProperty.EnqueuedTime], '2026-11-24T01:02:03.456Z');
    assert.equal(downstream.enqueuedAtMs, NOW_MS);
    assert.equal(sys[SystemProperty.EdgeHubOriginInterface], 'downstream');
    assert.equal(sys[SystemProperty.ModelId], 'dtmi:x;1');

    const internal = message({ deviceId: EDGE, moduleId: 'm' }, `devices/${EDGE}/modules/m/messages/events/`);
    assert.equal(internal.systemProperties[SystemProperty.EdgeHubOriginInterface], 'internal');
    assert.equal(Object.hasOwn(internal.systemProperties, SystemProperty.ModelId), false);
    assert.notEqual(internal.systemProperties[SystemProperty.EdgeMessageId], sys[SystemProperty.EdgeMessageId]);
  });

  it('turns RETAIN into application property mqtt-retain=true', () => {
    assert.equal(message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/', { retain: true }).properties['mqtt-retain'], 'true');
    assert.equal(Object.hasOwn(message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/').properties, 'mqtt-retain'), false);
    assert.equal(message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/mqtt-retain=no', { retain: true }).properties['mqtt-retain'], 'no');
  });

  it('drops a system key sent without a value, keeps an empty one', () => {
    const hub = message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/%24.ct&%24.ce=');
    assert.equal(Object.hasOwn(hub.systemProperties, SystemProperty.ContentType), false);
    assert.equal(hub.systemProperties[SystemProperty.ContentEncoding], '');
  });

  it('keeps the payload bytes and a __proto__ property as data', () => {
    const payload = new TextEncoder().encode('{"t":21.5}');
    const hub = message({ deviceId: 'leaf' }, 'devices/leaf/messages/events/__proto__=x', {}, payload);
    assert.equal(hub.body, payload);
    assert.equal(Object.getPrototypeOf(hub.properties), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(hub.properties, '__proto__')?.value, 'x');
  });
});
