/**
 * The Azure IoT device SDK's WebSocket transports against a real hub process, for what the
 * four-transport matrix (test/sdk/four-transport-matrix.test.ts: telemetry, module routes, twin,
 * methods, wrong key, C2D over MqttWs and AmqpWs) does not cover: a device authenticated by its
 * X.509 client certificate over MqttWs (a certificate that is not registered is refused), and what
 * such a device sent reaching, on the same hub, a module that connects later over AmqpWs.
 *
 * That sequence once looked like a hub defect ("after the X.509 MqttWs test, an AmqpWs module's
 * input messages were not delivered"). They were delivered: the X.509 device's telemetry matched
 * the catch-all device route and waited, queued, for the module; when it connected over AmqpWs it
 * received that message and the new one in one turn of the event loop, and the test, waiting for
 * `received.length === 1`, never saw the count pass through 1. The test below waits for what it
 * expects by content and asserts the queued message too.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { makeCertificate } from '../auth/auth-test-helpers.js';
import { agentFor, collectInputs, connectionString, EDGE, until, setUpHub, tearDownHub, x509WsClient, type WsHub } from './websocket-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, Message, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { AmqpWs } = require('azure-iot-device-amqp') as Record<string, any>;

const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) };
const deviceCertificate = makeCertificate({ commonName: 'cert-dev', ...validity });
const strangerCertificate = makeCertificate({ commonName: 'cert-dev', ...validity });

let hub: WsHub | undefined;

before(async () => {
  hub = await setUpHub(
    [['dev1'], [EDGE, 'filter']],
    { devicesToFilter: 'FROM /messages/* WHERE NOT IS_DEFINED({$connectionModuleId}) INTO BrokeredEndpoint("/modules/filter/inputs/telemetry")' },
    (registry) => {
      const thumbprint = createHash('sha256').update(deviceCertificate.x509.raw).digest('hex').toUpperCase();
      registry.add({ deviceId: 'cert-dev', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint } });
    },
  );
});
after(() => tearDownHub(hub));

/** An SDK client over AmqpWs (AMQP 1.0 over WebSocket, subprotocol AMQPWSB10), opened. */
async function openAmqpWs(kind: 'device' | 'module', deviceId: string, moduleId?: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(connectionString(hub!, deviceId, moduleId), AmqpWs);
  // AmqpWs dials port 443 like MqttWs; its agent option sends it to the hub's HTTPS port.
  await client.setOptions({ ca: hub!.ca, amqp: { webSocketAgent: agentFor(hub!.httpsPort) } });
  await client.open();
  hub!.clients.push(client);
  return client;
}

describe('Azure IoT SDK over MqttWs (X.509) and AmqpWs', () => {
  it('the hub says which library serves WebSocket: ws, uWebSockets.js not being installed', async () => {
    const line = await hub!.outpost.waitFor((l) => l.event === 'websocket.server', 20_000);
    assert.equal(line.server, 'ws');
    assert.equal(line.uWebSocketsJs, 'not installed');
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

  it('what the X.509 device sent while the module was away reaches it over AmqpWs, first, then new telemetry (the same hub)', async () => {
    const filter = await openAmqpWs('module', EDGE, 'filter');
    const received = collectInputs(filter, 'telemetry');
    const device = await openAmqpWs('device', 'dev1');
    const message = new Message(JSON.stringify({ pressure: 1013 }));
    message.properties.add('unit', 'hPa');
    await device.sendEvent(message);
    // By content, not by count: both may arrive in one turn of the event loop.
    await until(() => received.some((m) => m.data.toString() === '{"pressure":1013}'), 'the routed telemetry');
    assert.deepEqual(received.map((m) => m.data.toString()), ['from a certificate', '{"pressure":1013}']);
    assert.equal(received[0].transportObj.message_annotations['iothub-connection-device-id'], 'cert-dev');
    assert.equal(received[1].transportObj.message_annotations['iothub-connection-device-id'], 'dev1');
    assert.equal(received[1].properties.getValue('unit'), 'hPa');
  });
});

