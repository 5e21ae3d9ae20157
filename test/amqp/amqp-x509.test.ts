/**
 * X.509 client certificates over AMQP (5671), with the Azure IoT device SDK's `Amqp` transport and
 * an X509AuthenticationProvider (no CBS put-token: the TLS client certificate is the credential):
 * a registered self-signed device sends telemetry that is routed with its identity; a certificate
 * that is not registered for the device is refused at the link; a valid certificate cannot attach
 * to another identity's address (rhea, with the same certificate).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import rhea, { type EventContext } from 'rhea';
import { makeCertificate } from '../auth/auth-test-helpers.js';
import { EDGE, HUB, nextEvent, open, setUp, tearDown, until, type AmqpSite } from './amqp-harness.js';
import { detached, dataSection } from './rhea-client.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, Message, X509AuthenticationProvider } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as Record<string, any>;

const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) };
const deviceCertificate = makeCertificate({ commonName: 'cert-dev', ...validity });
const strangerCertificate = makeCertificate({ commonName: 'cert-dev', ...validity });

let site: AmqpSite | undefined;
const routed: { text: string; deviceId: unknown }[] = [];

before(async () => {
  site = await setUp([['dev1'], [EDGE, 'sink']], { toSink: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/sink/inputs/in")' }, {}, (registry) => {
    const thumbprint = createHash('sha256').update(deviceCertificate.x509.raw).digest('hex').toUpperCase();
    registry.add({ deviceId: 'cert-dev', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint } });
  });
  // The sink module reads its input with the SDK over SAS, as any module would.
  const sink = await open(site, 'module', EDGE, 'sink');
  sink.on('inputMessage', (_input: string, message: any) => {
    routed.push({ text: message.data.toString(), deviceId: message.transportObj?.message_annotations?.['iothub-connection-device-id'] });
    sink.complete(message, () => undefined);
  });
});

after(async () => {
  await tearDown(site);
});

function x509Client(cert: string, key: string): any {
  const provider = new X509AuthenticationProvider({ host: HUB, deviceId: 'cert-dev', gatewayHostName: `localhost:${site!.amqpPort}`, x509: { cert, key } });
  const client = Client.fromAuthenticationProvider(provider, Amqp);
  site!.clients.push(client);
  return client;
}

describe('X.509 client certificates over AMQP', () => {
  it('a registered device sends with its certificate alone, and is routed as itself', async () => {
    const device = x509Client(deviceCertificate.pem, deviceCertificate.keyPem);
    await device.setOptions({ ca: site!.ca });
    await device.open();
    await device.sendEvent(new Message('from a certificate'));
    await until(routed, 1);
    assert.deepEqual(routed, [{ text: 'from a certificate', deviceId: 'cert-dev' }]);
  });

  it('a certificate not registered for the device is refused at the link', async () => {
    const stranger = x509Client(strangerCertificate.pem, strangerCertificate.keyPem);
    await stranger.setOptions({ ca: site!.ca });
    // The SDK opens lazily over AMQP: the refusal comes with the first link.
    await assert.rejects(async () => {
      await stranger.open();
      await stranger.sendEvent(new Message('must not arrive'));
    });
    const refused = await site!.outpost.waitFor((l) => l.event === 'amqp.link_refused' && l.condition === 'amqp:unauthorized-access' && String(l.address).includes('cert-dev'), 20_000);
    assert.equal(refused.code, 'OUTPOST_AUTH_BAD_CREDENTIALS');
    assert.equal(routed.some((r) => r.text === 'must not arrive'), false);
  });

  it("a valid certificate does not open another identity's address", async () => {
    const connection = rhea.create_container().connect({
      host: 'localhost',
      port: site!.amqpPort,
      transport: 'tls',
      ca: site!.ca,
      cert: deviceCertificate.pem,
      key: deviceCertificate.keyPem,
      servername: 'localhost',
      hostname: HUB,
      reconnect: false,
    } as never);
    site!.connections.push(connection);
    await nextEvent(connection, 'connection_open');
    const own = connection.open_sender({ target: { address: '/devices/cert-dev/messages/events' } });
    await nextEvent(own, 'sendable');
    const other = connection.open_sender({ target: { address: '/devices/dev1/messages/events' } });
    assert.equal(await detached(other), 'amqp:unauthorized-access');
    own.send({ body: dataSection('still open') });
    await new Promise<void>((resolve) => own.once('accepted', (_context: EventContext) => resolve()));
    await until(routed, 2);
    assert.deepEqual(routed.map((r) => r.text), ['from a certificate', 'still open']);
  });
});
