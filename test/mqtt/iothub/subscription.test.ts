import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifySubscription,
  mayUseIotHubSubscription,
  type ClientIdentity,
  type IotHubSubscription,
} from '../../../src/hub/transport/mqtt/iothub/index.js';

const device: ClientIdentity = { deviceId: 'dev1' };
const module: ClientIdentity = { deviceId: 'dev1', moduleId: 'mod1' };

function allowed(identity: ClientIdentity, filter: string): boolean {
  const subscription = classifySubscription(filter);
  assert.notEqual(subscription.kind, 'general', filter);
  return mayUseIotHubSubscription(identity, subscription as Exclude<IotHubSubscription, { kind: 'general' }>);
}

describe('subscription classification (EdgeHub SessionStateParser table)', () => {
  it('recognizes the filters the Node SDK subscribes to', () => {
    assert.deepEqual(classifySubscription('$iothub/methods/POST/#'), { kind: 'methods' });
    assert.deepEqual(classifySubscription('$iothub/twin/PATCH/properties/desired/#'), { kind: 'desired-properties' });
    assert.deepEqual(classifySubscription('$iothub/twin/res/#'), { kind: 'twin-responses' });
    assert.deepEqual(classifySubscription('devices/dev1/messages/devicebound/#'), { kind: 'c2d', deviceId: 'dev1' });
    assert.deepEqual(classifySubscription('devices/dev1/modules/mod1/inputs/#'), { kind: 'module-inputs', deviceId: 'dev1', moduleId: 'mod1' });
  });

  it('applies the table by prefix, suffix, equality and regex, in order', () => {
    assert.deepEqual(classifySubscription('$iothub/methods/POST/reboot'), { kind: 'methods' });
    assert.deepEqual(classifySubscription('$iothub/twin/PATCH/properties/desired/+'), { kind: 'desired-properties' });
    assert.deepEqual(classifySubscription('devices/dev1/modules/mod1/#'), { kind: 'module-inputs', deviceId: 'dev1', moduleId: 'mod1' }, 'the C# SDK form');
    // "ends with messages/devicebound/#" comes before the module regex.
    assert.deepEqual(classifySubscription('devices/dev1/modules/mod1/messages/devicebound/#'), { kind: 'c2d', deviceId: undefined });
    assert.deepEqual(classifySubscription('anything/messages/devicebound/#'), { kind: 'c2d', deviceId: undefined });
    assert.deepEqual(classifySubscription('devices/a/b/modules/m/#'), { kind: 'module-inputs', deviceId: undefined, moduleId: undefined });
    assert.deepEqual(classifySubscription('devices/d/modules/m/inputs/in1/#'), { kind: 'module-inputs', deviceId: undefined, moduleId: undefined });
  });

  it('leaves everything else to the general broker and flags filters reaching into IoT Hub topics', () => {
    const cases: [string, boolean][] = [
      ['sensors/#', false],
      ['$SYS/#', false],
      ['$iothub/twin/res/+', true],
      ['$iothub/twin/res', true],
      ['$iothub/#', true],
      ['devices/#', true],
      ['devices/dev1/messages/events/#', true],
      ['#', true],
      ['+/dev1/messages/devicebound', true],
      ['devicesX/#', false],
    ];
    for (const [filter, overlapsIotHub] of cases) assert.deepEqual(classifySubscription(filter), { kind: 'general', overlapsIotHub }, filter);
  });
});

describe('who may hold an IoT Hub subscription', () => {
  it('allows methods, desired properties and twin responses to anyone: they carry no ids', () => {
    for (const filter of ['$iothub/methods/POST/#', '$iothub/twin/PATCH/properties/desired/#', '$iothub/twin/res/#']) {
      assert.equal(allowed(device, filter), true);
      assert.equal(allowed(module, filter), true);
    }
  });

  it('allows C2D only to the device itself, never to a module', () => {
    assert.equal(allowed(device, 'devices/dev1/messages/devicebound/#'), true);
    assert.equal(allowed(device, 'devices/dev2/messages/devicebound/#'), false);
    assert.equal(allowed(device, 'devices/+/messages/devicebound/#'), false);
    assert.equal(allowed(device, 'anything/messages/devicebound/#'), false);
    assert.equal(allowed(module, 'devices/dev1/messages/devicebound/#'), false);
  });

  it('allows module inputs only to the module itself', () => {
    assert.equal(allowed(module, 'devices/dev1/modules/mod1/inputs/#'), true);
    assert.equal(allowed(module, 'devices/dev1/modules/mod1/#'), true);
    assert.equal(allowed(module, 'devices/dev1/modules/mod2/inputs/#'), false);
    assert.equal(allowed(module, 'devices/+/modules/+/inputs/#'), false);
    assert.equal(allowed(module, 'devices/dev1/modules/mod1/inputs/in1/#'), false);
    assert.equal(allowed(device, 'devices/dev1/modules/mod1/inputs/#'), false);
  });
});
