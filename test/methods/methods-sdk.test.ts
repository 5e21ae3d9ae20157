/**
 * Direct methods end to end with the Azure IoT device SDK over MQTT on TLS: ModuleClient.invokeMethod
 * (HTTPS, the caller's SAS token) to a device answering with onDeviceMethod; a target that is not
 * connected answers 404 at once. Module → module (onMethod) over all four transports is in
 * test/sdk/four-transport-matrix.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answering, connectionString, EDGE, invoke, open, setUpHub, tearDownHub, type MethodsHub } from './methods-sdk-harness.js';

let hub: MethodsHub | undefined;
before(async () => {
  hub = await setUpHub([['dev1'], [EDGE, 'caller'], [EDGE, 'idle']]);
});
after(() => tearDownHub(hub));

describe('direct methods with the Azure IoT device SDK', () => {
  let caller: any;

  before(async () => {
    const h = hub!;
    caller = await open(h, 'module', connectionString(h, EDGE, 'caller'));
    const device = await open(h, 'device', connectionString(h, 'dev1'));
    await answering(device, 'device', 'reboot', (request, response) => response.send(200, { rebooting: true, delay: request.payload.delay }, () => undefined));
  });

  it('module → device: onDeviceMethod answers', async () => {
    const result = await invoke(caller, { deviceId: 'dev1' }, { methodName: 'reboot', payload: { delay: 3 }, responseTimeoutInSeconds: 10 });
    assert.deepEqual(result, { status: 200, body: { status: 200, payload: { rebooting: true, delay: 3 } } });
  });

  it('a target that is not connected, or connected without a method handler, answers 404 DeviceNotOnline at once', async () => {
    const startedAt = Date.now();
    const offline = await invoke(caller, { deviceId: EDGE, moduleId: 'idle' }, { methodName: 'echo', payload: null, responseTimeoutInSeconds: 30, connectTimeoutInSeconds: 30 });
    assert.equal(offline.status, 404);
    assert.equal(offline.body.errorCode, 404103);
    assert.match(offline.body.message, /edge-m\/idle is not connected/);
    // "At once": far below both timeouts, even on a loaded machine.
    assert.ok(Date.now() - startedAt < 10_000, `took ${Date.now() - startedAt} ms`);
    const notListening = await invoke(caller, { deviceId: EDGE, moduleId: 'caller' }, { methodName: 'echo', payload: null, responseTimeoutInSeconds: 30 });
    assert.equal(notListening.status, 404);
    assert.match(notListening.body.message, /not subscribed to direct methods/);
  });
});
