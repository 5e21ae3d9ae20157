import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyPublishTopic,
  type ClientIdentity,
  type InboundTopic,
  type TelemetryTopic,
} from '../../../src/hub/transport/mqtt/iothub/index.js';

const device: ClientIdentity = { deviceId: 'dev1' };
const module: ClientIdentity = { deviceId: 'dev1', moduleId: 'mod1' };

function classified(identity: ClientIdentity, topic: string): InboundTopic {
  const result = classifyPublishTopic(identity, topic);
  assert.ok(result.ok, result.ok ? '' : `${topic}: ${result.reason}`);
  return result.topic;
}

function telemetry(identity: ClientIdentity, topic: string): TelemetryTopic {
  const result = classified(identity, topic);
  assert.equal(result.kind, 'telemetry', topic);
  return result as TelemetryTopic;
}

function refused(identity: ClientIdentity, topic: string, code = 'OUTPOST_MQTT_BAD_TOPIC'): string {
  const result = classifyPublishTopic(identity, topic);
  assert.ok(!result.ok, `expected ${topic} to be refused`);
  assert.equal(result.code, code, topic);
  return result.reason;
}

describe('telemetry topics', () => {
  it('matches the device templates with and without trailing slash', () => {
    const cases: [string, Record<string, string | null>][] = [
      ['devices/dev1/messages/events/a=1&b/', { a: '1', b: null }], // template 1
      ['devices/dev1/messages/events/', {}], // 2
      ['devices/dev1/messages/events/a=1&b', { a: '1', b: null }], // 1 without '/'
      ['devices/dev1/messages/events', {}], // 2 without '/'
      ['devices/dev1/messages/events//', {}], // 1 with an empty bag
    ];
    for (const [topic, properties] of cases) {
      assert.deepEqual(telemetry(device, topic), { kind: 'telemetry', deviceId: 'dev1', matchesIdentity: true, properties: new Map(Object.entries(properties)) }, topic);
    }
  });

  it('matches the module templates with and without trailing slash', () => {
    for (const topic of [
      'devices/dev1/modules/mod1/messages/events/%24.on=out1&p=q/',
      'devices/dev1/modules/mod1/messages/events/%24.on=out1&p=q',
    ]) {
      assert.deepEqual(telemetry(module, topic), {
        kind: 'telemetry',
        deviceId: 'dev1',
        moduleId: 'mod1',
        matchesIdentity: true,
        properties: new Map([['$.on', 'out1'], ['p', 'q']]),
      });
    }
    assert.equal(telemetry(module, 'devices/dev1/modules/mod1/messages/events').properties.size, 0);
    assert.equal(telemetry(module, 'devices/dev1/modules/mod1/messages/events/').properties.size, 0);
  });

  it('skips a blank bag as EdgeHub does', () => {
    assert.deepEqual(telemetry(device, 'devices/dev1/messages/events/%20').properties, new Map([[' ', null]]));
    assert.equal(telemetry(device, 'devices/dev1/messages/events/ /').properties.size, 0);
  });

  it('reports a topic naming another device or module, and never trusts the topic ids', () => {
    assert.equal(telemetry(device, 'devices/dev2/messages/events/').matchesIdentity, false);
    assert.equal(telemetry(device, 'devices/DEV1/messages/events/').matchesIdentity, false, 'ids are case-sensitive');
    assert.equal(telemetry(device, 'devices/dev1/modules/mod1/messages/events/').matchesIdentity, false, 'device posing as its module');
    assert.equal(telemetry(module, 'devices/dev1/messages/events/').matchesIdentity, false, 'module posing as its device');
    assert.equal(telemetry(module, 'devices/dev1/modules/mod2/messages/events/').matchesIdentity, false);
    assert.equal(telemetry(module, 'devices/dev2/modules/mod1/messages/events/').matchesIdentity, false);
    assert.equal(telemetry(device, 'devices//messages/events/').matchesIdentity, false);
  });

  it('takes ids as written: ? inside ids, encoded slashes are not unescaped', () => {
    assert.equal(telemetry({ deviceId: 'dev?1' }, 'devices/dev?1/messages/events/a=1').matchesIdentity, true);
    const encoded = telemetry({ deviceId: 'a%2Fb' }, 'devices/a%2Fb/messages/events/');
    assert.equal(encoded.deviceId, 'a%2Fb');
    assert.equal(encoded.matchesIdentity, true);
    assert.equal(telemetry({ deviceId: 'a/b' }, 'devices/a%2Fb/messages/events/').matchesIdentity, false);
    assert.equal(telemetry({ deviceId: 'gerät-中' }, 'devices/gerät-中/messages/events/').matchesIdentity, true);
  });

  it('refuses a telemetry topic with extra levels or a malformed bag', () => {
    refused(device, 'devices/dev1/messages/events/a=1/b=2');
    refused(device, 'devices/dev1/messages/events/a=1//');
    refused(device, 'devices/dev1/modules/mod1/messages/events/x/y/');
    refused(device, 'devices/dev1/messages/events/a=1&', 'OUTPOST_MQTT_BAD_PROPERTY_BAG');
    refused(device, 'devices/dev1/messages/events/=v/', 'OUTPOST_MQTT_BAD_PROPERTY_BAG');
    refused(device, 'devices/dev1/messages/events/a=b=c', 'OUTPOST_MQTT_BAD_PROPERTY_BAG');
  });

  it('handles a telemetry topic of 65535 bytes', () => {
    const prefix = 'devices/dev1/messages/events/big=';
    const topic = prefix + 'x'.repeat(65_535 - prefix.length);
    assert.equal(Buffer.byteLength(topic), 65_535);
    assert.equal(telemetry(device, topic).properties.get('big')?.length, 65_535 - prefix.length);
  });
});

describe('twin and method topics', () => {
  it('classifies twin GET and reported PATCH as the Node SDK sends them', () => {
    assert.deepEqual(classified(device, '$iothub/twin/GET/?$rid=845e15bd-896c-47ca-951d-fc0996462b13'), {
      kind: 'twin-get',
      requestId: '845e15bd-896c-47ca-951d-fc0996462b13',
    });
    assert.deepEqual(classified(module, '$iothub/twin/PATCH/properties/reported/?$rid=42ab3d5e-08cf-48a1-b694-38f2905e630e'), {
      kind: 'twin-reported-patch',
      requestId: '42ab3d5e-08cf-48a1-b694-38f2905e630e',
    });
  });

  it('follows EdgeHub TwinAddressHelper: properties as written, extra properties ignored', () => {
    assert.deepEqual(classified(device, '$iothub/twin/GET/?$rid=6f2c8'), { kind: 'twin-get', requestId: '6f2c8' });
    assert.deepEqual(classified(device, '$iothub/twin/PATCH/properties/reported/?$rid=5de34&$version=1'), { kind: 'twin-reported-patch', requestId: '5de34' });
    assert.deepEqual(classified(device, '$iothub/twin/PATCH/properties/reported/?$rid=错误&$version=%20a'), { kind: 'twin-reported-patch', requestId: '错误' });
    assert.deepEqual(classified(device, '$iothub/twin/GET/?$rid=%41'), { kind: 'twin-get', requestId: '%41' }, 'not unescaped');
    assert.deepEqual(classified(device, '$iothub/twin/GET/?x&$rid=1&'), { kind: 'twin-get', requestId: '1' });
  });

  it('accepts a reported PATCH without $rid (no response expected) but not a GET', () => {
    assert.deepEqual(classified(device, '$iothub/twin/PATCH/properties/reported/'), { kind: 'twin-reported-patch', requestId: '' });
    assert.deepEqual(classified(device, '$iothub/twin/PATCH/properties/reported/?$version=3'), { kind: 'twin-reported-patch', requestId: '' });
    refused(device, '$iothub/twin/GET/');
    refused(device, '$iothub/twin/GET/?$rid=');
    refused(device, '$iothub/twin/GET/?rid=1');
  });

  it('refuses sub-resources, repeated properties and missing slashes', () => {
    refused(device, '$iothub/twin/GET/sub/?$rid=1');
    refused(device, '$iothub/twin/PATCH/properties/reported/x?$rid=1');
    refused(device, '$iothub/twin/GET/?$rid=1&$rid=2');
    refused(device, '$iothub/twin/GET?$rid=1');
    refused(device, '$iothub/twin/PATCH/properties/reported?$rid=1');
  });

  it('classifies method responses', () => {
    assert.deepEqual(classified(device, '$iothub/methods/res/200/?$rid=42'), { kind: 'method-response', status: 200, requestId: '42' });
    assert.deepEqual(classified(device, '$iothub/methods/res/-1/?$rid=1&$random'), { kind: 'method-response', status: -1, requestId: '1' });
    assert.deepEqual(classified(device, '$iothub/methods/res/404/?other=x&$rid=ab'), { kind: 'method-response', status: 404, requestId: 'ab' });
  });

  it('refuses malformed method responses', () => {
    for (const topic of [
      '$iothub/methods/res/200?$rid=1',
      '$iothub/methods/res/200/',
      '$iothub/methods/res/200/$rid=1',
      '$iothub/methods/res/abc/?$rid=1',
      '$iothub/methods/res//?$rid=1',
      '$iothub/methods/res/99999999999/?$rid=1',
      '$iothub/methods/res/200/?$rid=',
    ]) {
      refused(device, topic);
    }
  });

  it('refuses every other $iothub topic a client might publish to', () => {
    for (const topic of ['$iothub/methods/POST/reboot/?$rid=1', '$iothub/twin/PATCH/properties/desired/?$version=1', '$iothub/twin/res/200/?$rid=1', '$iothub/other']) {
      refused(device, topic);
    }
  });
});

describe('topics for the general broker', () => {
  it('leaves every topic outside the IoT Hub templates to the general broker', () => {
    for (const topic of [
      'sensors/temperature',
      'devices',
      'devices/dev1',
      'devices/dev1/messages',
      'devices/dev1/messages/eventsX/a=1',
      'devices/dev1/messages/devicebound/x',
      'devices/dev1/modules/mod1/inputs/in1/',
      'devices/dev1/modules/mod1',
      'x/devices/dev1/messages/events/',
      '$iothub',
      '$iothubx/twin/GET/?$rid=1',
      '$SYS/broker/uptime',
    ]) {
      assert.deepEqual(classified(device, topic), { kind: 'general' }, topic);
    }
  });
});
