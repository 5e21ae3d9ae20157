/**
 * The Azure IoT device SDK's MqttWs transport (azure-iot-device-mqtt) against a real hub process,
 * over TLS and WebSocket on the HTTPS listener: device telemetry through a route to a module input,
 * a module's output through a route to another module's input (order, properties, the sender's
 * ids set by the hub), twin reported and desired properties, and a device authenticated by its
 * X.509 client certificate over WebSocket (a certificate that is not registered is refused).
 * Before WebSocket was served, every one of these failed at open(): 443 answered the upgrade 404.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { makeCertificate } from '../auth/auth-test-helpers.js';
import { agentFor, collectInputs, EDGE, eventWhere, openWs, until, setUpHub, tearDownHub, twinCli, x509WsClient, type WsHub } from './websocket-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Message } = require('azure-iot-device') as Record<string, any>;

const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) };
const deviceCertificate = makeCertificate({ commonName: 'cert-dev', ...validity });
const strangerCertificate = makeCertificate({ commonName: 'cert-dev', ...validity });

let hub: WsHub | undefined;

before(async () => {
  hub = await setUpHub(
    [['dev1'], [EDGE, 'sensor'], [EDGE, 'filter']],
    {
      devicesToFilter: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/filter/inputs/telemetry")',
      sensorToFilter: 'FROM /messages/modules/sensor/outputs/readings INTO BrokeredEndpoint("/modules/filter/inputs/readings")',
    },
    (registry) => {
      const thumbprint = createHash('sha256').update(deviceCertificate.x509.raw).digest('hex').toUpperCase();
      registry.add({ deviceId: 'cert-dev', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint } });
    },
  );
});
after(() => tearDownHub(hub));


describe('Azure IoT SDK over MqttWs', () => {
  it('device telemetry reaches a module input through a route', async () => {
    const filter = await openWs(hub!, 'module', EDGE, 'filter');
    const received = collectInputs(filter, 'telemetry');
    const device = await openWs(hub!, 'device', 'dev1');
    const message = new Message(JSON.stringify({ temperature: 21.5 }));
    message.properties.add('unit', 'C');
    await device.sendEvent(message);
    await until(() => received.length === 1, 'the routed telemetry');
    const delivered = received[0];
    assert.deepEqual(JSON.parse(delivered.data.toString()), { temperature: 21.5 });
    assert.equal(delivered.properties.getValue('unit'), 'C');
    assert.equal(delivered.properties.getValue('$.cdid'), 'dev1');
    // One connection per identity: the next tests open their own (a second one would take over).
    await Promise.all([device.close(), filter.close()]);
  });

  it('a module output reaches another module input through a route, in order, with the sender ids the hub set', async () => {
    const filter = await openWs(hub!, 'module', EDGE, 'filter');
    const received = collectInputs(filter, 'readings');
    const sensor = await openWs(hub!, 'module', EDGE, 'sensor');
    const count = 30;
    for (let i = 0; i < count; i += 1) {
      const message = new Message(JSON.stringify({ seq: i }));
      message.properties.add('seq', String(i));
      await sensor.sendOutputEvent('readings', message);
    }
    await until(() => received.length === count, `${count} routed readings`);
    assert.deepEqual(received.map((m) => JSON.parse(m.data.toString()).seq), [...Array(count).keys()]);
    assert.deepEqual(received.map((m) => m.properties.getValue('seq')), [...Array(count).keys()].map(String));
    assert.equal(received[0].properties.getValue('$.cdid'), EDGE);
    assert.equal(received[0].properties.getValue('$.cmid'), 'sensor');
    await Promise.all([sensor.close(), filter.close()]);
  });

  it('twin: get, reported patch, and a desired change made by the operator', async () => {
    const device = await openWs(hub!, 'device', 'dev1');
    const twin = await device.getTwin();
    await new Promise<void>((resolve, reject) => twin.properties.reported.update({ firmware: '2.0.1' }, (error: unknown) => (error ? reject(error) : resolve())));
    const again = await device.getTwin();
    assert.equal(again.properties.reported.firmware, '2.0.1');
    const desired = eventWhere<[any]>(again, 'properties.desired', (patch) => patch.interval === 15, 60_000);
    const updated = await twinCli(hub!, ['update-desired', 'dev1', '--patch', '{"interval": 15}']);
    assert.equal(updated.code, 0, updated.stderr);
    const [patch] = await desired;
    assert.equal(patch.interval, 15);
    await device.close();
  });

  it('a device authenticates with its X.509 client certificate over WebSocket; an unregistered one is refused', async () => {
    const device = x509WsClient(hub!, 'cert-dev', deviceCertificate.pem, deviceCertificate.keyPem);
    await device.setOptions({ ca: hub!.ca, mqtt: { webSocketAgent: agentFor(hub!.httpsPort) } });
    await device.open();
    await device.sendEvent(new Message('from a certificate'));
    // The same device id with a certificate of the same subject that is not registered: refused,
    // so the certificate (not the id) is what authenticated the first client.
    const stranger = x509WsClient(hub!, 'cert-dev', strangerCertificate.pem, strangerCertificate.keyPem);
    await stranger.setOptions({ ca: hub!.ca, mqtt: { webSocketAgent: agentFor(hub!.httpsPort) } });
    await assert.rejects(stranger.open());
    const refused = await hub!.outpost.waitFor((l) => l.event === 'mqtt.auth_failed' && l.clientId === 'cert-dev', 20_000);
    assert.equal(refused.listener, 'mqttWs');
  });
});

