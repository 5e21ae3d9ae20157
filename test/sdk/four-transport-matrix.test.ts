/**
 * The real Azure IoT device SDK for Node over all four of its transports — `Mqtt`, `Amqp`,
 * `MqttWs`, `AmqpWs` — against one real hub process, the same scenarios over each (issue 17's
 * "done when"): device telemetry (50 messages, 40 in parallel) arriving at a module; module
 * output → route → module input (100 messages, in order, with their properties, attributed to the
 * authenticated sender whatever the sender wrote); twin get / reported patch / desired patch
 * notification; invokeMethod module → module; a wrong key refused by the protocol itself (the
 * MQTT CONNACK return code, the AMQP CBS put-token status-code); C2D to a device, completed.
 *
 * Each scenario of each transport is its own subtest, named "<transport>: <scenario>". The
 * transports run one after the other on the one hub (why one hub: sdk-matrix-harness.ts).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  arrived, attributionOf, callback, cbsResponses, collectInputs, connacks, connectionString, EDGE, eventWhere, FORGED_ATTRIBUTION, idsOf, makeClient, openClient,
  protocolOf, setUpMatrixHub, tearDownMatrixHub, TRANSPORTS, type MatrixHub,
} from './sdk-matrix-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Message } = require('azure-iot-device') as Record<string, any>;

/** MQTT 3.1.1 CONNACK return code 4 (section 3.2.2.3), what the hub answers a SAS token that does not verify. */
const CONNACK_BAD_USER_NAME_OR_PASSWORD = 4;
/** The CBS put-token status-code of a token that does not verify (IoT Hub: 401 Unauthorized). */
const CBS_UNAUTHORIZED = 401;
const WRONG_KEY = Buffer.alloc(32, 7).toString('base64');

let hub: MatrixHub | undefined;
before(async () => {
  hub = await setUpMatrixHub();
});
after(() => tearDownMatrixHub(hub));

for (const transport of TRANSPORTS) {
  describe(transport, () => {
    const ids = idsOf(transport);
    const protocol = protocolOf(transport);
    // One connection per identity at a time: a second one would take the first one's place (and
    // the SDK would reconnect the first), so every client a subtest opened is closed after it,
    // failed or not, and a failure stays in its own subtest.
    const opened: any[] = [];
    const track = async <T>(client: Promise<T>): Promise<T> => {
      const c = await client;
      opened.push(c);
      return c;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((client) => client.close().catch(() => undefined)));
    });

    it(`${transport}: device connect and telemetry (50 messages, 40 in parallel) arrive at a module`, async () => {
      const receiver = await track(openClient(hub!, transport, EDGE, ids.receiver));
      const inputs = collectInputs(receiver);
      const device = await track(openClient(hub!, transport, ids.device));
      const send = (i: number) => {
        const message = new Message(JSON.stringify({ i }));
        message.messageId = `${transport}-${i}`;
        message.properties.add('seq', String(i));
        // A device posing as a module: were it believed, the route (NOT IS_DEFINED($connectionModuleId)) would drop it.
        for (const [key, value] of Object.entries(FORGED_ATTRIBUTION)) message.properties.add(key, value);
        return device.sendEvent(message);
      };
      await Promise.all(Array.from({ length: 40 }, (_, i) => send(i)));
      for (let i = 40; i < 50; i++) await send(i);
      const telemetry = () => inputs.get('telemetry') ?? [];
      await arrived(telemetry, 50, `${transport} telemetry at ${ids.receiver}`);
      const got = telemetry();
      assert.deepEqual(new Set(got.map((m) => m.messageId)), new Set(Array.from({ length: 50 }, (_, i) => `${transport}-${i}`)));
      for (const message of got) {
        assert.equal(message.properties.getValue('seq'), String(JSON.parse(message.data.toString()).i));
        assert.deepEqual(attributionOf(protocol, message), { deviceIds: [ids.device], moduleIds: [] }, `sender of ${message.messageId}`);
      }
    });

    it(`${transport}: module output → route → module input (100 messages, order, properties, attribution a sender cannot spoof)`, async () => {
      const receiver = await track(openClient(hub!, transport, EDGE, ids.receiver));
      const inputs = collectInputs(receiver);
      const sender = await track(openClient(hub!, transport, EDGE, ids.sender));
      for (let i = 0; i < 100; i++) {
        const message = new Message(JSON.stringify({ t: i }));
        message.properties.add('unit', 'C');
        message.properties.add('seq', String(i));
        message.contentType = 'application/json';
        for (const [key, value] of Object.entries(FORGED_ATTRIBUTION)) message.properties.add(key, value);
        await sender.sendOutputEvent('readings', message);
      }
      const readings = () => inputs.get('readings') ?? [];
      await arrived(readings, 100, `${transport} readings at ${ids.receiver}`);
      const got = readings();
      assert.deepEqual(got.map((m) => JSON.parse(m.data.toString()).t), Array.from({ length: 100 }, (_, i) => i));
      assert.deepEqual(got.map((m) => m.properties.getValue('seq')), Array.from({ length: 100 }, (_, i) => String(i)));
      for (const message of got) {
        assert.equal(message.properties.getValue('unit'), 'C');
        assert.equal(message.contentType, 'application/json');
        assert.deepEqual(attributionOf(protocol, message), { deviceIds: [EDGE], moduleIds: [ids.sender] });
      }
      assert.equal(inputs.get('telemetry'), undefined, 'nothing from a module went the device-telemetry route');
    });

    it(`${transport}: twin get, reported patch, desired patch notification`, async () => {
      const device = await track(openClient(hub!, transport, ids.device));
      const twin = await device.getTwin();
      assert.equal(typeof twin.properties.desired.$version, 'number');
      const firmware = `fw-${transport}`;
      await callback((done) => twin.properties.reported.update({ firmware, nested: { transport } }, done));
      const stored = await hub!.control.call('GET', `/v1/twins/${ids.device}`);
      assert.equal(stored.status, 200);
      assert.deepEqual((stored.body as any).properties.reported.nested, { transport });
      assert.equal((stored.body as any).properties.reported.firmware, firmware);
      const again = await device.getTwin();
      assert.equal(again.properties.reported.firmware, firmware);
      // The subscription first, answered by the hub; then the listener (which the SDK would
      // otherwise use to subscribe in the background, with nothing to wait on).
      await callback((done) => twin.enableTwinDesiredPropertiesUpdates(done));
      const desired = eventWhere<[any]>(twin, 'properties.desired', (patch) => patch.interval === 15);
      const patched = await hub!.control.call('PATCH', `/v1/twins/${ids.device}/desired`, JSON.stringify({ interval: 15 }));
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const [patch] = await desired;
      assert.equal(patch.interval, 15);
      assert.equal(typeof patch.$version, 'number');
    });

    it(`${transport}: no desired patch after the SDK unsubscribes (AMQP twin DELETE, MQTT UNSUBSCRIBE), and patches again after it subscribes`, async () => {
      const device = await track(openClient(hub!, transport, ids.device));
      const twin = await device.getTwin();
      await callback((done) => twin.enableTwinDesiredPropertiesUpdates(done));
      const seen: number[] = [];
      twin.on('properties.desired', (patch: { interval?: number }) => seen.push(patch.interval ?? -1));
      // The SDK's own unsubscribe: its Twin never calls it by itself (twin.js has it commented out).
      await callback((done) => device._transport.disableTwinDesiredPropertiesUpdates(done));
      assert.equal((await hub!.control.call('PATCH', `/v1/twins/${ids.device}/desired`, JSON.stringify({ interval: 21 }))).status, 200);
      // A patch sent now would arrive well within this (they take milliseconds when subscribed).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.ok(!seen.includes(21), `a patch reached the client while it was unsubscribed: ${JSON.stringify(seen)}`);
      // Subscribed again, the next patch arrives. (The SDK then fetches the whole twin and emits
      // its desired properties, 21 included: that is not a patch, so it is not counted above.)
      await callback((done) => twin.enableTwinDesiredPropertiesUpdates(done));
      const back = eventWhere<[any]>(twin, 'properties.desired', (patch) => patch.interval === 22);
      assert.equal((await hub!.control.call('PATCH', `/v1/twins/${ids.device}/desired`, JSON.stringify({ interval: 22 }))).status, 200);
      await back;
    });

    it(`${transport}: invokeMethod module → module`, async () => {
      const target = await track(openClient(hub!, transport, EDGE, ids.receiver));
      // The method links/subscription first, answered by the hub; onMethod then finds them there.
      await callback((done) => target._enableMethods(done));
      const seen: unknown[] = [];
      target.onMethod('echo', (request: any, response: any) => {
        seen.push(request.payload);
        response.send(201, { echoed: request.payload, over: transport }, () => undefined);
      });
      const caller = await track(openClient(hub!, transport, EDGE, ids.sender));
      const result = await caller.invokeMethod(EDGE, ids.receiver, { methodName: 'echo', payload: { n: 7, s: 'ü' }, responseTimeoutInSeconds: 20 }).catch((error: any) => {
        throw new Error(`invokeMethod failed: ${error?.response?.statusCode} ${error?.responseBody ?? error}`);
      });
      assert.deepEqual(result, { status: 201, payload: { echoed: { n: 7, s: 'ü' }, over: transport } });
      assert.deepEqual(seen, [{ n: 7, s: 'ü' }]);
    });

    it(`${transport}: a wrong key is refused by the protocol (${protocol === 'mqtt' ? 'CONNACK return code' : 'CBS status-code'})`, async () => {
      const client = await track(makeClient(hub!, transport, 'device', connectionString(hub!, transport, ids.device, undefined, WRONG_KEY)));
      const cbsBefore = cbsResponses.length;
      const connacksBefore = connacks.length;
      await assert.rejects(client.open(), (error: any) => {
        // MQTT: Error('Failure on first connection (Not authorized): …'); AMQP: UnauthorizedError.
        assert.match(String(error), protocol === 'mqtt' ? /Not authorized/ : /UnauthorizedError/);
        return true;
      });
      if (protocol === 'mqtt') {
        assert.deepEqual(connacks.slice(connacksBefore), [{ returnCode: CONNACK_BAD_USER_NAME_OR_PASSWORD }]);
      } else {
        const answers = cbsResponses.slice(cbsBefore);
        assert.equal(answers.length, 1, JSON.stringify(answers));
        assert.equal(answers[0]!.properties['status-code'], CBS_UNAUTHORIZED);
        assert.equal(typeof answers[0]!.properties['status-description'], 'string');
      }
    });

    it(`${transport}: C2D to a device, completed`, async () => {
      const received: any[] = [];
      const device = await track(openClient(hub!, transport, ids.device, undefined, (client) => client.on('message', (m: any) => received.push(m))));
      const sent = await hub!.control.call('POST', `/v1/devices/${ids.device}/messages/devicebound`, JSON.stringify({ body: `c2d over ${transport}`, messageId: `c2d-${transport}`, properties: { kind: 'command' } }));
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      await arrived(() => received, 1, `C2D at ${ids.device}`);
      const [message] = received;
      assert.equal(message.data.toString(), `c2d over ${transport}`);
      assert.equal(message.messageId, `c2d-${transport}`);
      assert.equal(message.properties.getValue('kind'), 'command');
      await callback((done) => device.complete(message, done));
      await queueEmpty(hub!, ids.device);
      assert.equal(received.length, 1, 'delivered once');
    });
  });
}

/** Waits until the hub's queue for the device is empty (it has the completion), with a deadline. */
async function queueEmpty(h: MatrixHub, deviceId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const listed = await h.control.call('GET', `/v1/devices/${deviceId}/messages/devicebound`);
    assert.equal(listed.status, 200);
    if ((listed.body as any).queued === 0) return;
    assert.ok(Date.now() < deadline, `${deviceId} still has ${(listed.body as any).queued} queued`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}


describe('attribution across protocols', () => {
  // The forged names of one protocol must not become the other protocol's attribution on the way.
  for (const [sendOver, receiveOver] of [['Amqp', 'Mqtt'], ['Mqtt', 'Amqp'], ['AmqpWs', 'MqttWs'], ['MqttWs', 'AmqpWs']] as const) {
    it(`${sendOver} sender → ${receiveOver} receiver: the receiver sees the authenticated sender only`, async () => {
      // The route of the receiving transport's identities, with each client on the other protocol.
      const ids = idsOf(receiveOver);
      const receiver = await openClient(hub!, receiveOver, EDGE, ids.receiver);
      const sender = await openClient(hub!, sendOver, EDGE, ids.sender);
      try {
        const inputs = collectInputs(receiver);
        for (let i = 0; i < 10; i++) {
          const message = new Message(String(i));
          for (const [key, value] of Object.entries(FORGED_ATTRIBUTION)) message.properties.add(key, value);
          await sender.sendOutputEvent('readings', message);
        }
        const readings = () => inputs.get('readings') ?? [];
        await arrived(readings, 10, `readings at ${ids.receiver}`);
        assert.deepEqual(readings().map((m) => m.data.toString()), Array.from({ length: 10 }, (_, i) => String(i)));
        for (const message of readings()) assert.deepEqual(attributionOf(protocolOf(receiveOver), message), { deviceIds: [EDGE], moduleIds: [ids.sender] });
      } finally {
        await Promise.all([sender.close().catch(() => undefined), receiver.close().catch(() => undefined)]);
      }
    });
  }
});
