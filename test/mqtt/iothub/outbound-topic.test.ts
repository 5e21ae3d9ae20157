import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemProperty, type HubMessage } from '../../../src/hub/message/index.js';
import { OutboundTopic, type TopicResult } from '../../../src/hub/transport/mqtt/iothub/index.js';

function topic(result: TopicResult): string {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.topic;
}

function refused(result: TopicResult): string {
  assert.ok(!result.ok, 'expected a refusal');
  assert.equal(result.code, 'OUTPOST_MQTT_OUTBOUND_TOPIC_INVALID');
  return result.reason;
}

function hubMessage(properties: HubMessage['properties'], systemProperties: HubMessage['systemProperties']): HubMessage {
  return { source: '/messages/modules/sender/outputs/o/', body: new Uint8Array(), properties, systemProperties, enqueuedAtMs: 0 };
}

describe('module input topic', () => {
  it('writes application properties, then system properties with the sender connection ids', () => {
    const message = hubMessage(
      { k: 'v' },
      {
        [SystemProperty.MessageId]: 'in-1',
        [SystemProperty.ConnectionDeviceId]: 'dev1',
        [SystemProperty.ConnectionModuleId]: 'other',
        [SystemProperty.EdgeMessageId]: 'not-sent',
        [SystemProperty.EnqueuedTime]: 'not-sent',
        [SystemProperty.OutputName]: 'not-sent',
        [SystemProperty.EdgeHubOriginInterface]: 'not-sent',
      },
    );
    assert.equal(topic(OutboundTopic.moduleInput('dev1', 'mod1', 'input1', message)), 'devices/dev1/modules/mod1/inputs/input1/k=v&%24.mid=in-1&%24.cdid=dev1&%24.cmid=other');
  });

  it('encodes every outbound system property in EdgeHub order', () => {
    const message = hubMessage(
      {},
      {
        [SystemProperty.ConnectionModuleId]: 'cm',
        [SystemProperty.ConnectionDeviceId]: 'cd',
        [SystemProperty.CreationTime]: 't',
        [SystemProperty.Operation]: 'op',
        [SystemProperty.MessageSchema]: 's',
        [SystemProperty.ContentEncoding]: 'utf-8',
        [SystemProperty.ContentType]: 'application/json',
        [SystemProperty.UserId]: 'u',
        [SystemProperty.To]: '/x',
        [SystemProperty.MessageId]: 'm',
        [SystemProperty.CorrelationId]: 'c',
        [SystemProperty.AbsoluteExpiryTime]: 'e',
      },
    );
    assert.equal(
      topic(OutboundTopic.moduleInput('E', 'M', 'in1', message)),
      'devices/E/modules/M/inputs/in1/%24.exp=e&%24.cid=c&%24.mid=m&%24.to=%2Fx&%24.uid=u&%24.ct=application%2Fjson&%24.ce=utf-8&%24.schema=s&iothub-operation=op&%24.ctime=t&%24.cdid=cd&%24.cmid=cm',
    );
  });

  it('matches the EdgeHub example devices/E/modules/M/inputs/in1/%24.cdid=E&%24.cmid=Sender', () => {
    const message = hubMessage({}, { [SystemProperty.ConnectionDeviceId]: 'E', [SystemProperty.ConnectionModuleId]: 'Sender' });
    assert.equal(topic(OutboundTopic.moduleInput('E', 'M', 'in1', message)), 'devices/E/modules/M/inputs/in1/%24.cdid=E&%24.cmid=Sender');
  });

  it('never lets an application property pose as a system wire key', () => {
    const message = hubMessage({ '$.cmid': 'spoofed', '$.cdid': 'spoofed', '$.mid': 'x', ok: '1' }, { [SystemProperty.ConnectionDeviceId]: 'leaf' });
    assert.equal(topic(OutboundTopic.moduleInput('E', 'M', 'in1', message)), 'devices/E/modules/M/inputs/in1/ok=1&%24.cdid=leaf');
  });

  it('writes the / before an empty bag, null and empty values distinctly', () => {
    assert.equal(topic(OutboundTopic.moduleInput('E', 'M', 'in1', hubMessage({}, {}))), 'devices/E/modules/M/inputs/in1/');
    assert.equal(topic(OutboundTopic.moduleInput('E', 'M', 'in1', hubMessage({ n: null, e: '' }, {}))), 'devices/E/modules/M/inputs/in1/n&e=');
  });

  it('refuses names that are not one topic level', () => {
    const message = hubMessage({}, {});
    for (const [d, m, i] of [['a/b', 'M', 'in'], ['E', 'M+', 'in'], ['E', 'M', 'in#'], ['E', 'M', ''], ['', 'M', 'in'], ['E', 'M', 'in\u0000']] as const) {
      refused(OutboundTopic.moduleInput(d, m, i, message));
    }
  });

  it('refuses a topic over 65535 UTF-8 bytes and accepts one just under', () => {
    const fixed = 'devices/E/modules/M/inputs/in1/k=';
    const fits = hubMessage({ k: 'x'.repeat(65_535 - fixed.length) }, {});
    assert.equal(Buffer.byteLength(topic(OutboundTopic.moduleInput('E', 'M', 'in1', fits))), 65_535);
    const tooLong = hubMessage({ k: 'x'.repeat(65_536 - fixed.length) }, {});
    assert.match(refused(OutboundTopic.moduleInput('E', 'M', 'in1', tooLong)), /65535/);
    // Escaping grows a bag: 8,000 × '中' is 72,000 bytes as %E4%B8%AD.
    refused(OutboundTopic.moduleInput('E', 'M', 'in1', hubMessage({ k: '中'.repeat(8_000) }, {})));
    // Raw names count in UTF-8 bytes, not characters: 21,840 × '中' is under 65535 characters but over 65535 bytes.
    refused(OutboundTopic.moduleInput('E', 'M', '中'.repeat(21_840), hubMessage({}, {})));
    assert.equal(topic(OutboundTopic.moduleInput('E', 'M', '中'.repeat(21_800), hubMessage({}, {}))).length, 21_828);
  });
});

describe('cloud-to-device topic', () => {
  it('writes the bag in the devicebound topic, with $ as %24', () => {
    const message = hubMessage({ propertyName: 'propertyValue' }, { [SystemProperty.To]: '/devices/dev_c/messages/deviceBound' });
    assert.equal(topic(OutboundTopic.cloudToDevice('dev_c', message)), 'devices/dev_c/messages/devicebound/propertyName=propertyValue&%24.to=%2Fdevices%2Fdev_c%2Fmessages%2FdeviceBound');
    assert.equal(topic(OutboundTopic.cloudToDevice('d?1', hubMessage({}, {}))), 'devices/d?1/messages/devicebound/');
    refused(OutboundTopic.cloudToDevice('a+b', hubMessage({}, {})));
  });
});

describe('twin and method topics', () => {
  it('builds twin responses, with $version after a reported PATCH', () => {
    assert.equal(topic(OutboundTopic.twinResponse(200, '845e15bd-896c-47ca-951d-fc0996462b13')), '$iothub/twin/res/200/?$rid=845e15bd-896c-47ca-951d-fc0996462b13');
    assert.equal(topic(OutboundTopic.twinResponse(204, '42ab', 2)), '$iothub/twin/res/204/?$rid=42ab&$version=2');
    refused(OutboundTopic.twinResponse(200, ''));
    refused(OutboundTopic.twinResponse(200, 'a&b'));
    refused(OutboundTopic.twinResponse(200, 'a#'));
    refused(OutboundTopic.twinResponse(200.5, 'a'));
    refused(OutboundTopic.twinResponse(200, 'a', -1));
  });

  it('builds desired-property patch topics', () => {
    assert.equal(topic(OutboundTopic.desiredPatch(3)), '$iothub/twin/PATCH/properties/desired/?$version=3');
    refused(OutboundTopic.desiredPatch(Number.NaN));
  });

  it('builds method requests and refuses method names that would break the topic', () => {
    assert.equal(topic(OutboundTopic.methodRequest('reboot', '42')), '$iothub/methods/POST/reboot/?$rid=42');
    assert.equal(topic(OutboundTopic.methodRequest('test', '123')), '$iothub/methods/POST/test/?$rid=123'); // EdgeHub TwinAddressHelperTests
    for (const name of ['', 'a/b', 'a?b', 'a+b', 'a#b']) refused(OutboundTopic.methodRequest(name, '1'));
  });
});
