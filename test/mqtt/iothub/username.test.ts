import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIotHubUsername, type UsernameResult } from '../../../src/hub/transport/mqtt/iothub/index.js';

function connect(result: UsernameResult) {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.connect;
}

function refused(result: UsernameResult, code = 'OUTPOST_MQTT_BAD_USERNAME'): string {
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.code, code);
  return result.reason;
}

const UA = 'azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)';

describe('IoT Hub CONNECT username', () => {
  it('parses what the Node SDK sends for a device and a module (azure-iot-sdk-wire.md A, C)', () => {
    assert.deepEqual(connect(parseIotHubUsername(`myhub.azure-devices.net/dev1/?api-version=2021-04-12&DeviceClientType=${UA}`, 'dev1')), {
      hostname: 'myhub.azure-devices.net',
      deviceId: 'dev1',
      apiVersion: '2021-04-12',
      clientType: 'azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)',
    });
    assert.deepEqual(connect(parseIotHubUsername(`myhub.azure-devices.net/dev1/mod1/?api-version=2021-04-12&DeviceClientType=${UA}`, 'dev1/mod1')), {
      hostname: 'myhub.azure-devices.net',
      deviceId: 'dev1',
      moduleId: 'mod1',
      apiVersion: '2021-04-12',
      clientType: 'azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)',
    });
  });

  it('reads model-id (unescaped, as the SDK sends it raw) and auth-chain', () => {
    const info = connect(
      parseIotHubUsername('hub/dev/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1&DeviceClientType=x&auth-chain=leaf;edge%3Bparent', 'dev'),
    );
    assert.equal(info.modelId, 'dtmi:com:example:Thermostat;1');
    assert.equal(info.authChain, 'leaf;edge;parent');
    assert.equal(info.clientType, 'x');
  });

  it('treats ? as part of an id unless it starts the last level', () => {
    const device = connect(parseIotHubUsername('hub/dev?1/?api-version=1', 'dev?1'));
    assert.equal(device.deviceId, 'dev?1');
    const module = connect(parseIotHubUsername('hub/d?/m?x/?api-version=1', 'd?/m?x'));
    assert.deepEqual([module.deviceId, module.moduleId], ['d?', 'm?x']);
    // "?" inside the last level (not first) is not the query marker: that is the legacy form.
    const legacy = connect(parseIotHubUsername('hub/dev/foo?bar=b1&api-version=2010-01-01', 'dev'));
    assert.equal(legacy.apiVersion, '2010-01-01');
  });

  it('accepts the legacy form without ? when the last level contains api-version=', () => {
    const info = connect(parseIotHubUsername('hub/dev/mod/api-version=2017-06-30&DeviceClientType=a%20b', 'dev/mod'));
    assert.deepEqual([info.deviceId, info.moduleId, info.apiVersion, info.clientType], ['dev', 'mod', '2017-06-30', 'a b']);
    refused(parseIotHubUsername('hub/dev/DeviceClientType=x', 'dev'));
  });

  it('accepts the old Azure ML module client whose DeviceClientType contains slashes', () => {
    const info = connect(
      parseIotHubUsername('hub/dev/mod/api-version=2017-06-30/DeviceClientType=Microsoft.Azure.Devices.Client/1.5.1-preview-003', 'dev/mod'),
    );
    assert.deepEqual([info.moduleId, info.apiVersion, info.clientType], ['mod', '2017-06-30', 'Microsoft.Azure.Devices.Client/1.5.1-preview-003']);
    refused(parseIotHubUsername('hub/dev/mod/api-version=2018-01-01/DeviceClientType=Other/1.0', 'dev/mod'));
  });

  it('keeps the first of duplicate keys and ignores unknown keys', () => {
    const info = connect(parseIotHubUsername('hub/dev/?api-version=first&api-version=second&foo=bar&DeviceClientType=a&DeviceClientType=b', 'dev'));
    assert.equal(info.apiVersion, 'first');
    assert.equal(info.clientType, 'a');
    assert.equal(Object.hasOwn(info, 'foo'), false);
  });

  it('compares keys as written (not unescaped, case-sensitive)', () => {
    refused(parseIotHubUsername('hub/dev/?api%2Dversion=1', 'dev'));
    refused(parseIotHubUsername('hub/dev/?API-VERSION=1', 'dev'));
  });

  it('requires a present, non-blank api-version but does not check its value', () => {
    assert.match(refused(parseIotHubUsername('hub/dev/?DeviceClientType=x', 'dev')), /api-version/);
    refused(parseIotHubUsername('hub/dev/?api-version=', 'dev'));
    refused(parseIotHubUsername('hub/dev/?api-version=%20%20', 'dev'));
    refused(parseIotHubUsername('hub/dev/?api-version', 'dev'));
    assert.equal(connect(parseIotHubUsername('hub/dev/?api-version=not-a-date', 'dev')).apiVersion, 'not-a-date');
  });

  it('leaves out blank model-id and auth-chain, keeps an empty DeviceClientType', () => {
    const info = connect(parseIotHubUsername('hub/dev/?api-version=1&model-id=&auth-chain=%20&DeviceClientType=', 'dev'));
    assert.equal(Object.hasOwn(info, 'modelId'), false);
    assert.equal(Object.hasOwn(info, 'authChain'), false);
    assert.equal(info.clientType, '');
  });

  it('unescapes values leniently: malformed escapes stay as written', () => {
    const info = connect(parseIotHubUsername('hub/dev/?api-version=1&DeviceClientType=100%25%20sure%zz%E2%82', 'dev'));
    assert.equal(info.clientType, '100% sure%zz%E2%82');
  });

  it('refuses other shapes', () => {
    for (const username of ['', '   ', 'hub', 'hub/dev', 'hub/?api-version=1', 'hub/a/b/c/?api-version=1', 'hub/ /?api-version=1', 'hub/dev/ /?api-version=1']) {
      refused(parseIotHubUsername(username, 'dev'));
    }
  });

  it('trims ids as EdgeHub does', () => {
    const info = connect(parseIotHubUsername('hub/ dev /?api-version=1', 'dev'));
    assert.equal(info.deviceId, 'dev');
  });

  it('accepts device and module ids of the maximum length (128)', () => {
    const device = 'd'.repeat(128);
    const module = 'm'.repeat(128);
    const info = connect(parseIotHubUsername(`hub/${device}/${module}/?api-version=1`, `${device}/${module}`));
    assert.equal(info.deviceId.length + (info.moduleId?.length ?? 0), 256);
  });

  it('checks the client id against the identity in the username', () => {
    refused(parseIotHubUsername('hub/dev1/?api-version=1', 'dev2'), 'OUTPOST_MQTT_CLIENT_ID_MISMATCH');
    refused(parseIotHubUsername('hub/dev1/mod1/?api-version=1', 'dev1'), 'OUTPOST_MQTT_CLIENT_ID_MISMATCH');
    refused(parseIotHubUsername('hub/dev1/?api-version=1', 'dev1/mod1'), 'OUTPOST_MQTT_CLIENT_ID_MISMATCH');
    refused(parseIotHubUsername('hub/dev1/?api-version=1', 'DEV1'), 'OUTPOST_MQTT_CLIENT_ID_MISMATCH');
  });
});
