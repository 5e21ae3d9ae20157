/**
 * The exact strings the Azure IoT device SDK for Node sent in ../shared/reference/azure-iot-sdk-wire.md,
 * and a differential test against the SDK's own topic encoder and decoders (azure-iot-device-mqtt,
 * the version pinned in package.json), so a change on either side shows up here.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { SystemProperty, type HubMessage } from '../../../src/hub/message/index.js';
import {
  classifyPublishTopic,
  decodePropertyBag,
  encodePropertyBag,
  OutboundTopic,
  parseIotHubUsername,
  toHubMessage,
  type ClientIdentity,
  type InboundTopic,
  type TopicResult,
} from '../../../src/hub/transport/mqtt/iothub/index.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS and these internals have no types; the probes below only call them.
const { Message } = require('azure-iot-device') as { Message: any };
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: { prototype: any } };

const device: ClientIdentity = { deviceId: 'dev1' };
const module: ClientIdentity = { deviceId: 'dev1', moduleId: 'mod1' };

function inbound(identity: ClientIdentity, topic: string): InboundTopic {
  const result = classifyPublishTopic(identity, topic);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.topic;
}

function outbound(result: TopicResult): string {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.topic;
}

/** The topic the SDK's sendEvent / sendOutputEvent publishes for `message` (mqtt.js, `sendEvent` state). */
function sdkPublishTopic(message: any, moduleId?: string, outputName?: string): string {
  const base = moduleId === undefined ? 'devices/dev1/messages/events/' : `devices/dev1/modules/${moduleId}/messages/events/`;
  const outputProps = outputName === undefined ? undefined : { '$.on': outputName };
  const topic: string = Mqtt.prototype._getEventTopicFromMessage.call({ _topicTelemetryPublish: base }, message, outputProps);
  return outputProps === undefined ? topic : topic + '/';
}

/** What the SDK hands the application for an input message on `topic`. */
function sdkInputMessage(topic: string): { inputName: string; messageId: unknown; properties: [string, string][] } {
  let emitted: { inputName: string; messageId: unknown; properties: [string, string][] } | undefined;
  const fake = {
    _extractPropertiesFromTopicPart: Mqtt.prototype._extractPropertiesFromTopicPart,
    emit(event: string, inputName: string, msg: { messageId: unknown; properties: { propertyList: { key: string; value: string }[] } }) {
      assert.equal(event, 'inputMessage');
      emitted = { inputName, messageId: msg.messageId, properties: msg.properties.propertyList.map((p) => [p.key, p.value]) };
    },
  };
  Mqtt.prototype._onInputMessage.call(fake, topic, Buffer.from('x'));
  assert.ok(emitted);
  return emitted;
}

function hubMessage(properties: HubMessage['properties'], systemProperties: HubMessage['systemProperties']): HubMessage {
  return { source: '/messages/', body: new Uint8Array(), properties, systemProperties, enqueuedAtMs: 0 };
}

describe('strings captured from the Node SDK (azure-iot-sdk-wire.md)', () => {
  it('CONNECT usernames of a device and a module', () => {
    const ua = 'azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)';
    const deviceConnect = parseIotHubUsername(`myhub.azure-devices.net/dev1/?api-version=2021-04-12&DeviceClientType=${ua}`, 'dev1');
    const moduleConnect = parseIotHubUsername(`myhub.azure-devices.net/dev1/mod1/?api-version=2021-04-12&DeviceClientType=${ua}`, 'dev1/mod1');
    assert.ok(deviceConnect.ok && moduleConnect.ok);
    assert.equal(moduleConnect.connect.moduleId, 'mod1');
  });

  it('telemetry with system and application properties, and its exact re-encoding', () => {
    const bag = '%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp';
    const topic = inbound(device, `devices/dev1/messages/events/${bag}`);
    assert.ok(topic.kind === 'telemetry' && topic.matchesIdentity);
    assert.deepEqual(Object.fromEntries(topic.properties), { '$.mid': 'mid-1', '$.cid': 'cid-1', '$.ct': 'application/json', '$.ce': 'utf-8', alert: 'high temp' });
    assert.equal(encodePropertyBag(topic.properties), bag);
    const hub = toHubMessage(device, topic, new Uint8Array(), 0, { edgeDeviceId: 'edge' });
    assert.equal(hub.systemProperties[SystemProperty.CorrelationId], 'cid-1');
    assert.deepEqual(hub.properties, { alert: 'high temp' });
  });

  it('module output with the trailing slash', () => {
    const topic = inbound(module, 'devices/dev1/modules/mod1/messages/events/%24.on=output1&p=q/');
    assert.ok(topic.kind === 'telemetry' && topic.matchesIdentity);
    const hub = toHubMessage(module, topic, new Uint8Array(), 0, { edgeDeviceId: 'dev1' });
    assert.equal(hub.source, '/messages/modules/mod1/outputs/output1/');
    assert.deepEqual(hub.properties, { p: 'q' });
  });

  it('twin GET, reported PATCH and method response', () => {
    assert.deepEqual(inbound(device, '$iothub/twin/GET/?$rid=845e15bd-896c-47ca-951d-fc0996462b13'), { kind: 'twin-get', requestId: '845e15bd-896c-47ca-951d-fc0996462b13' });
    assert.deepEqual(inbound(device, '$iothub/twin/PATCH/properties/reported/?$rid=42ab3d5e-08cf-48a1-b694-38f2905e630e'), { kind: 'twin-reported-patch', requestId: '42ab3d5e-08cf-48a1-b694-38f2905e630e' });
    assert.deepEqual(inbound(device, '$iothub/methods/res/200/?$rid=42'), { kind: 'method-response', status: 200, requestId: '42' });
  });

  it('the topics the probe server answered with, rebuilt byte for byte', () => {
    assert.equal(outbound(OutboundTopic.twinResponse(200, '845e15bd-896c-47ca-951d-fc0996462b13')), '$iothub/twin/res/200/?$rid=845e15bd-896c-47ca-951d-fc0996462b13');
    assert.equal(outbound(OutboundTopic.twinResponse(204, '42ab3d5e-08cf-48a1-b694-38f2905e630e', 2)), '$iothub/twin/res/204/?$rid=42ab3d5e-08cf-48a1-b694-38f2905e630e&$version=2');
    assert.equal(outbound(OutboundTopic.desiredPatch(3)), '$iothub/twin/PATCH/properties/desired/?$version=3');
    const c2d = hubMessage({ prop1: 'v1' }, {});
    assert.equal(outbound(OutboundTopic.cloudToDevice('dev1', c2d)), 'devices/dev1/messages/devicebound/prop1=v1');
    // Same properties as the captured C2D publish; we write application properties first, as EdgeHub does.
    const captured = decodePropertyBag('%24.mid=c2d-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2Fdevicebound&%24.ct=application%2Fjson&prop1=v1');
    assert.ok(captured.ok);
    const full = hubMessage({ prop1: 'v1' }, { [SystemProperty.MessageId]: 'c2d-1', [SystemProperty.To]: '/devices/dev1/messages/devicebound', [SystemProperty.ContentType]: 'application/json' });
    const rebuilt = decodePropertyBag(outbound(OutboundTopic.cloudToDevice('dev1', full)).slice('devices/dev1/messages/devicebound/'.length));
    assert.ok(rebuilt.ok);
    assert.deepEqual(rebuilt.properties, captured.properties);
  });
});

describe('differential against the Node SDK encoder and decoder', () => {
  it('decodes whatever the SDK encodes, for awkward property names and values', () => {
    const texts = ['plain', 'a b', 'a&b=c', '100%', '%41', '/x/y/', '$.mid', 'q?', 'é中😀', "(!*')~", '#+', ' ', 'x'.repeat(300)];
    let round = 0;
    for (const key of texts) {
      const value = texts[(round += 7) % texts.length]!;
      const message = new Message('{}');
      message.messageId = `mid-${round}`;
      message.correlationId = value;
      message.contentType = 'application/json';
      message.properties.add(key, value);
      message.properties.add('dt-subject', 'component1');
      for (const moduleId of [undefined, 'mod1']) {
        const identity = moduleId === undefined ? device : module;
        const topic = inbound(identity, sdkPublishTopic(message, moduleId, moduleId === undefined ? undefined : 'out put'));
        assert.ok(topic.kind === 'telemetry' && topic.matchesIdentity, key);
        const hub = toHubMessage(identity, topic, new Uint8Array(), 0, { edgeDeviceId: 'dev1' });
        // An application property named $.mid follows the SDK's own $.mid in the bag; the last one wins.
        assert.equal(hub.systemProperties[SystemProperty.MessageId], key === '$.mid' ? value : `mid-${round}`);
        assert.equal(hub.systemProperties[SystemProperty.CorrelationId], value);
        assert.equal(hub.systemProperties[SystemProperty.ComponentName], 'component1', 'dt-subject travels as $.sub');
        if (key !== '$.mid') assert.equal(hub.properties[key], value, key);
        if (moduleId !== undefined) assert.equal(hub.source, '/messages/modules/mod1/outputs/out put/');
      }
    }
  });

  it('the SDK reads our module-input topics back as the same input name and properties', () => {
    const message = hubMessage(
      { 'a b': 'c&d', 'x=y': '/z', unicode: 'é中😀', empty: '' },
      { [SystemProperty.MessageId]: 'in-1', [SystemProperty.ConnectionDeviceId]: 'dev1', [SystemProperty.ConnectionModuleId]: 'other' },
    );
    const seen = sdkInputMessage(outbound(OutboundTopic.moduleInput('dev1', 'mod1', 'input1', message)));
    assert.equal(seen.inputName, 'input1');
    assert.equal(seen.messageId, 'in-1');
    assert.deepEqual(seen.properties, [
      ['a b', 'c&d'],
      ['x=y', '/z'],
      ['unicode', 'é中😀'],
      ['empty', ''],
      ['$.cdid', 'dev1'],
      ['$.cmid', 'other'],
    ]);
    // The captured probe topic, through the SDK and through us, gives the same properties.
    const captured = 'devices/dev1/modules/mod1/inputs/input1/%24.mid=in-1&%24.cdid=dev1&%24.cmid=other&k=v';
    assert.deepEqual(sdkInputMessage(captured).properties, [['$.cdid', 'dev1'], ['$.cmid', 'other'], ['k', 'v']]);
  });

  it('the SDK dispatches our method requests to the right method with the request id', () => {
    let seen: { name: string; requestId: string } | undefined;
    const fake = { emit: (event: string, msg: { requestId: string }) => (seen = { name: event, requestId: msg.requestId }) };
    Mqtt.prototype._onDeviceMethod.call(fake, outbound(OutboundTopic.methodRequest('reboot', '42')), Buffer.from('{}'));
    assert.deepEqual(seen, { name: 'method_reboot', requestId: '42' });
  });
});
