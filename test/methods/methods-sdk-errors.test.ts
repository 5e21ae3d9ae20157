/**
 * Direct-method errors with the Azure IoT device SDK (and raw HTTPS where the SDK cannot send the
 * bad request), each with IoT Hub's status and errorCode, and nothing else disturbed: a timeout
 * (504 after responseTimeoutInSeconds), a payload over 128 KiB (413), a timeout out of 5–300 s
 * (400), a module of another edge device as target (404 DeviceNotFound, though it is connected)
 * or as caller, and bad or missing tokens (401).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answering, connectionString, EDGE, invoke, open, post, setUpHub, tearDownHub, type MethodsHub } from './methods-sdk-harness.js';

const OTHER = 'other-edge';
let hub: MethodsHub | undefined;
let caller: any;
let called = 0;

before(async () => {
  hub = await setUpHub([[EDGE, 'caller'], [EDGE, 'target'], [EDGE, 'silent']], (registry) => {
    // Another edge device in the same registry (not a child of this one), with a module.
    registry.add({ deviceId: OTHER, edge: true, parentDeviceId: null });
    registry.add({ deviceId: OTHER, moduleId: 'm' });
  });
  caller = await open(hub, 'module', connectionString(hub, EDGE, 'caller'));
  const target = await open(hub, 'module', connectionString(hub, EDGE, 'target'));
  await answering(target, 'module', 'echo', (request, response) => {
    called += 1;
    response.send(200, request.payload, () => undefined);
  });
  const silent = await open(hub, 'module', connectionString(hub, EDGE, 'silent'));
  await answering(silent, 'module', 'hang', () => undefined);
  const other = await open(hub, 'module', connectionString(hub, OTHER, 'm'));
  await answering(other, 'module', 'echo', (_request, response) => response.send(200, 'should not be reached', () => undefined));
});
after(() => tearDownHub(hub));

const target = { deviceId: EDGE, moduleId: 'target' };

describe('direct-method errors', () => {
  it('answers 504 GatewayTimeout after responseTimeoutInSeconds when the target does not answer', async () => {
    const startedAt = Date.now();
    const result = await invoke(caller, { deviceId: EDGE, moduleId: 'silent' }, { methodName: 'hang', payload: 1, responseTimeoutInSeconds: 5 });
    const elapsedMs = Date.now() - startedAt;
    assert.equal(result.status, 504);
    assert.equal(result.body.errorCode, 504101);
    assert.equal(result.body.code, 'OUTPOST_METHOD_TIMEOUT');
    assert.match(result.body.message, /did not answer hang within 5 s/);
    assert.ok(elapsedMs >= 4_900, `answered after ${elapsedMs} ms`);
  });

  it('refuses a payload over 128 KiB with 413 without calling the target', async () => {
    const before = called;
    const result = await invoke(caller, target, { methodName: 'echo', payload: 'x'.repeat(128 * 1024), responseTimeoutInSeconds: 5 });
    assert.equal(result.status, 413);
    assert.equal(result.body.errorCode, 413002);
    assert.equal(result.body.code, 'OUTPOST_METHOD_PAYLOAD_TOO_LARGE');
    // Just under the limit goes through (the payload is measured as JSON: the quotes count).
    const fits = await invoke(caller, target, { methodName: 'echo', payload: 'y'.repeat(128 * 1024 - 2), responseTimeoutInSeconds: 10 });
    assert.equal(fits.status, 200);
    assert.equal(fits.body.payload.length, 128 * 1024 - 2);
    assert.equal(called, before + 1);
  });

  it('refuses a response timeout outside 5–300 s and a bad method name with 400', async () => {
    for (const responseTimeoutInSeconds of [4, 301, 2.5]) {
      const result = await invoke(caller, target, { methodName: 'echo', payload: null, responseTimeoutInSeconds });
      assert.equal(result.status, 400, `timeout ${responseTimeoutInSeconds}`);
      assert.equal(result.body.errorCode, 400004);
      assert.match(result.body.message, /responseTimeoutInSeconds must be an integer from 5 to 300/);
    }
    const badName = await invoke(caller, target, { methodName: 'a/b', payload: null, responseTimeoutInSeconds: 5 });
    assert.equal(badName.status, 400);
    assert.match(badName.body.message, /methodName/);
  });

  it('answers 404 DeviceNotFound for a module of another edge device, though it is connected and listening', async () => {
    const result = await invoke(caller, { deviceId: OTHER, moduleId: 'm' }, { methodName: 'echo', payload: null, responseTimeoutInSeconds: 5 });
    assert.equal(result.status, 404);
    assert.equal(result.body.errorCode, 404001);
    assert.match(result.body.message, /not a device or module of this edge device/);
    const unknown = await invoke(caller, { deviceId: 'nobody' }, { methodName: 'echo', payload: null, responseTimeoutInSeconds: 5 });
    assert.equal(unknown.body.errorCode, 404001);
  });

  it('refuses callers that are not authenticated modules of this edge device with 401', async () => {
    const h = hub!;
    const body = JSON.stringify({ methodName: 'echo', payload: 1, responseTimeoutInSeconds: 5 });
    const path = `/twins/${EDGE}/modules/target/methods`;
    // The SDK's real token for the caller, taken from what it sends: a bad signature instead.
    const token = (await callerToken()).replace(/sig=[^&]+/, 'sig=AAAA');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /Authorization: SharedAccessSignature/],
      [{ authorization: await callerToken() }, /x-ms-edge-moduleId/],
      [{ authorization: token, 'x-ms-edge-moduleId': `${EDGE}/caller` }, /does not authenticate module edge-m\/caller/],
      [{ authorization: await callerToken(), 'x-ms-edge-moduleId': `${EDGE}/target` }, /does not authenticate module edge-m\/target/],
      [{ authorization: await callerToken(), 'x-ms-edge-moduleId': `${OTHER}/m` }, /only modules of edge device edge-m/],
    ];
    const before = called;
    for (const [headers, reason] of cases) {
      const result = await post(h, path, headers, body);
      assert.equal(result.status, 401, JSON.stringify(headers));
      assert.equal(result.body.errorCode, 401002);
      assert.equal(result.body.code, 'OUTPOST_METHOD_UNAUTHORIZED');
      assert.match(result.body.message, reason);
    }
    assert.equal(called, before, 'no refused call reached the target');
    // Nothing else disturbed: the SDK's own call still works.
    const ok = await invoke(caller, target, { methodName: 'echo', payload: { after: 'errors' }, responseTimeoutInSeconds: 10 });
    assert.deepEqual(ok, { status: 200, body: { status: 200, payload: { after: 'errors' } } });
  });
});

/** The SAS token the caller module's SDK uses (its authentication provider makes it from the key). */
function callerToken(): Promise<string> {
  return new Promise((resolve, reject) =>
    caller._methodClient._authProvider.getDeviceCredentials((error: unknown, credentials: any) => (error ? reject(error) : resolve(credentials.sharedAccessSignature))),
  );
}
