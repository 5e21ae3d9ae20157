import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authorizer, type ClientIdentity } from '../../src/hub/auth/index.js';

const HUB = 'myhub.azure-devices.net';
const EDGE = 'edge1';
const sensor: ClientIdentity = { kind: 'device', deviceId: 'sensor_1' };
const other: ClientIdentity = { kind: 'device', deviceId: 'sensor_2' };
const filter: ClientIdentity = { kind: 'module', deviceId: EDGE, moduleId: 'filter' };
const anonymous: ClientIdentity = { kind: 'anonymous' };

const authorizer = (policy?: unknown) => new Authorizer({ iotHubHostname: HUB, thisDeviceId: EDGE, ...(policy === undefined ? {} : { policy }) });
const connectAll = { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] };

describe('Authorizer: decisions', () => {
  it('by default lets IoT Hub identities connect and use no user topic', () => {
    const auth = authorizer();
    assert.ok(auth.canConnect(sensor, 'sensor_1'));
    assert.ok(!auth.canPublish(sensor, 'sensor_1', 'events/alerts'));
    assert.ok(!auth.canSubscribe(sensor, 'sensor_1', '#'));
  });

  it('denies by default: no statement, no access, connect included', () => {
    const auth = authorizer([]);
    assert.ok(!auth.canConnect(sensor, 'sensor_1'));
    assert.ok(!auth.canPublish(sensor, 'sensor_1', 'a'));
  });

  it('applies the example policy of the notes (1.4)', () => {
    const auth = authorizer([
      { identities: [`${HUB}/rogue_client`], deny: [{ operations: ['mqtt:connect'] }] },
      connectAll,
      { identities: [`${HUB}/sensor_1`], allow: [{ operations: ['mqtt:publish'], resources: ['events/alerts'] }], deny: [{ operations: ['mqtt:subscribe'], resources: ['/alert/#'] }] },
    ]);
    assert.ok(!auth.canConnect({ kind: 'device', deviceId: 'rogue_client' }, 'rogue_client'));
    assert.ok(auth.canConnect(sensor, 'sensor_1'));
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'events/alerts'));
    assert.ok(!auth.canPublish(other, 'sensor_2', 'events/alerts'));
    assert.ok(!auth.canSubscribe(sensor, 'sensor_1', '/alert/x'));
  });

  it('lets deny win over allow, whatever the statement order', () => {
    for (const order of [0, 1]) {
      const statements = [
        { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#'] }] },
        { identities: [`${HUB}/sensor_1`], deny: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/secret/#'] }] },
      ];
      const auth = authorizer(order === 0 ? statements : [...statements].reverse());
      assert.ok(auth.canPublish(sensor, 'sensor_1', 'plant/line1'));
      assert.ok(!auth.canPublish(sensor, 'sensor_1', 'plant/secret/x'));
      assert.ok(auth.canPublish(other, 'sensor_2', 'plant/secret/x'));
      assert.ok(!auth.canSubscribe(sensor, 'sensor_1', 'plant/secret/#'));
    }
  });

  it('substitutes every variable for the requesting client', () => {
    const auth = authorizer([
      {
        identities: ['{{iot:identity}}'],
        allow: [
          {
            operations: ['mqtt:publish', 'mqtt:subscribe'],
            resources: ['devices-own/{{iot:device_id}}/#', 'mods/{{iot:module_id}}/#', 'clients/{{mqtt:client_id}}', 'edge/{{iot:this_device_id}}/+', 'who/{{iot:identity}}'],
          },
        ],
      },
    ]);
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'devices-own/sensor_1/t'));
    assert.ok(!auth.canPublish(sensor, 'sensor_1', 'devices-own/sensor_2/t'));
    assert.ok(auth.canPublish(filter, 'edge1/filter', 'mods/filter/x'));
    assert.ok(!auth.canPublish(sensor, 'sensor_1', 'mods//x'), 'a device has no module id: that resource does not apply');
    assert.ok(auth.canPublish(sensor, 'client-a', 'clients/client-a'));
    assert.ok(!auth.canPublish(sensor, 'client-a', 'clients/sensor_1'));
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'edge/edge1/status'));
    assert.ok(auth.canPublish(filter, 'edge1/filter', `who/${HUB}/edge1/filter`), '{{iot:identity}} spans levels');
  });

  it('matches identities with variables in them', () => {
    const auth = authorizer([{ identities: [`${HUB}/{{iot:this_device_id}}/monitor`], allow: [{ operations: ['mqtt:subscribe'], resources: ['#'] }] }]);
    assert.ok(auth.canSubscribe({ kind: 'module', deviceId: EDGE, moduleId: 'monitor' }, 'edge1/monitor', 'plant/#'));
    assert.ok(!auth.canSubscribe(filter, 'edge1/filter', 'plant/#'));
  });

  it('treats a substituted id as text: a "+" or "#" in a device id is no wildcard', () => {
    const auth = authorizer([{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['own/{{iot:device_id}}'] }] }]);
    const plus: ClientIdentity = { kind: 'device', deviceId: '+' };
    const hash: ClientIdentity = { kind: 'device', deviceId: '#' };
    assert.ok(!auth.canPublish(plus, '+', 'own/sensor_1'));
    assert.ok(!auth.canSubscribe(plus, '+', 'own/+'));
    assert.ok(!auth.canPublish(hash, '#', 'own/anything'));
  });

  it('grants a subscription only if the allowed resource covers the whole filter', () => {
    const auth = authorizer([{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:subscribe'], resources: ['a/+', 'b/#', 'c/x'] }] }]);
    const can = (f: string) => auth.canSubscribe(sensor, 'sensor_1', f);
    assert.ok(can('a/1') && can('a/+'));
    assert.ok(!can('a/#'), 'a/+ does not cover a/#');
    assert.ok(!can('a/1/2'));
    assert.ok(can('b') && can('b/#') && can('b/+/c'));
    assert.ok(can('c/x') && !can('c/+') && !can('#') && !can('+/x'));
  });

  it('refuses a subscription that could receive a denied topic', () => {
    const auth = authorizer([
      { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:subscribe'], resources: ['a/#'] }] },
      { identities: ['{{iot:identity}}'], deny: [{ operations: ['mqtt:subscribe'], resources: ['a/secret'] }] },
    ]);
    const can = (f: string) => auth.canSubscribe(sensor, 'sensor_1', f);
    assert.ok(!can('a/+'), 'a/+ would receive a/secret');
    assert.ok(!can('a/#'));
    assert.ok(can('a/public') && can('a/public/#'));
  });

  it('keeps leading wildcards away from $ topics (MQTT-4.7.2-1)', () => {
    const auth = authorizer([{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['#'] }] }]);
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'a/b'));
    assert.ok(!auth.canPublish(sensor, 'sensor_1', '$SYS/x'));
    assert.ok(!auth.canSubscribe(sensor, 'sensor_1', '$SYS/#'));
    const dollar = authorizer([{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish'], resources: ['$custom/#'] }] }]);
    assert.ok(dollar.canPublish(sensor, 'sensor_1', '$custom/x'));
  });

  it('decides a shared subscription on its filter', () => {
    const auth = authorizer([{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:subscribe'], resources: ['jobs/#'] }] }]);
    assert.ok(auth.canSubscribe(sensor, 'sensor_1', '$share/workers/jobs/+'));
    assert.ok(!auth.canSubscribe(sensor, 'sensor_1', '$share/workers/other/+'));
  });

  it('gives anonymous clients user topics only, whatever the policy', () => {
    const auth = authorizer([]);
    assert.ok(auth.canConnect(anonymous, 'x'));
    assert.ok(auth.canPublish(anonymous, 'x', 'plant/line1'));
    assert.ok(auth.canSubscribe(anonymous, 'x', '#'));
    assert.ok(!auth.canPublish(anonymous, 'x', 'devices/sensor_1/messages/events/'));
    assert.ok(!auth.canPublish(anonymous, 'x', '$iothub/twin/GET/?$rid=1'));
    assert.ok(!auth.canSubscribe(anonymous, 'x', 'devices/+/messages/devicebound/#'));
    assert.ok(!auth.canSubscribe(anonymous, 'x', '$iothub/methods/POST/#'));
    assert.ok(!auth.canSubscribe(anonymous, 'x', '$share/g/devices/#'));
  });

  it('knows when the connect decision is the same for everyone, and only then skips per-client permissions', () => {
    const compiled = (policy: unknown) => {
      const result = Authorizer.compile(policy);
      assert.ok(result.ok);
      return result.policy;
    };
    assert.equal(compiled([connectAll]).connectsEveryone, true, 'the default policy');
    assert.equal(compiled([connectAll, { identities: [`${HUB}/sensor_1`], allow: [{ operations: ['mqtt:publish'], resources: ['a'] }] }]).connectsEveryone, true, 'other operations do not matter');
    assert.equal(compiled([]).connectsEveryone, false, 'default deny');
    assert.equal(compiled([{ identities: [`${HUB}/sensor_1`], allow: [{ operations: ['mqtt:connect'] }] }]).connectsEveryone, false, 'only one identity');
    assert.equal(compiled([{ identities: ['{{iot:identity}}/x'], allow: [{ operations: ['mqtt:connect'] }] }]).connectsEveryone, false, 'a template with more than the identity');
    assert.equal(compiled([connectAll, { identities: [`${HUB}/rogue`], deny: [{ operations: ['mqtt:connect'] }] }]).connectsEveryone, false, 'any connect deny');
    assert.equal(compiled([connectAll, { identities: ['{{iot:identity}}'], deny: [{ operations: ['mqtt:connect'] }] }]).connectsEveryone, false);
    // The decisions agree with the per-client path either way.
    const everyone = authorizer([connectAll]);
    assert.ok(everyone.canConnect(sensor, 'sensor_1') && everyone.canConnect(filter, `${EDGE}/filter`));
    const some = authorizer([{ identities: [`${HUB}/sensor_1`], allow: [{ operations: ['mqtt:connect'] }] }]);
    assert.ok(some.canConnect(sensor, 'sensor_1'));
    assert.ok(!some.canConnect(other, 'sensor_2'));
  });

  it('refuses an invalid initial policy at construction', () => {
    assert.throws(() => authorizer([{ identities: [] }]), /OUTPOST_AUTH_POLICY_INVALID|authorization policy rejected/);
  });
});

describe('Authorizer: replacing the policy at run time', () => {
  const base = [
    connectAll,
    { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#', 'alerts/#'] }] },
  ];

  it('keeps the last good policy when the new one is invalid, and says why', () => {
    const auth = authorizer(base);
    const result = auth.replacePolicy([{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish'], resources: ['plant/#/x'] }] }]);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'OUTPOST_AUTH_POLICY_INVALID');
    assert.match(result.error.message, /statement 0: \[0\]\.allow\[0\]\.resources\[0\]/);
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'plant/a'), 'the previous policy is still in force');
  });

  it('applies a valid policy at once (no stale per-client cache) and lists what each client lost', () => {
    const auth = authorizer(base);
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'alerts/x'));
    const result = auth.replacePolicy(
      [
        { identities: [`${HUB}/sensor_2`], deny: [{ operations: ['mqtt:connect'] }] },
        connectAll,
        { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#'] }] },
      ],
      [
        { clientId: 'sensor_1', identity: sensor, subscriptions: ['plant/#', 'alerts/#', 'devices/sensor_1/messages/devicebound/#'] },
        { clientId: 'sensor_2', identity: other, subscriptions: ['plant/+'] },
        { clientId: 'edge1/filter', identity: filter, subscriptions: ['plant/x'] },
        { clientId: 'anon', identity: anonymous, subscriptions: ['alerts/#'] },
      ],
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.revoked.map((r) => ({ clientId: r.clientId, connect: r.connect, subscriptions: r.subscriptions })),
      [
        { clientId: 'sensor_1', connect: false, subscriptions: ['alerts/#'] },
        { clientId: 'sensor_2', connect: true, subscriptions: [] },
      ],
    );
    assert.ok(!auth.canPublish(sensor, 'sensor_1', 'alerts/x'));
    assert.ok(auth.canPublish(sensor, 'sensor_1', 'plant/x'));
    assert.ok(!auth.canConnect(other, 'sensor_2'));
  });
});
