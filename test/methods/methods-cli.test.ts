/**
 * `outpost method invoke` against a running hub, with an Azure SDK module answering: JSON out,
 * exit 0 for a 2xx answer, 1 with the status and reason otherwise, 2 for bad usage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answering, connectionString, EDGE, methodCli, open, setUpHub, tearDownHub, type MethodsHub } from './methods-sdk-harness.js';

let hub: MethodsHub | undefined;
before(async () => {
  hub = await setUpHub([[EDGE, 'target'], [EDGE, 'idle']]);
  const target = await open(hub, 'module', connectionString(hub, EDGE, 'target'));
  await answering(target, 'module', 'echo', (request, response) => response.send(201, { echoed: request.payload, by: 'target' }, () => undefined));
});
after(() => tearDownHub(hub));

describe('outpost method invoke', () => {
  it('prints the answer and exits 0 when the method answers 2xx', async () => {
    const ok = await methodCli(hub!, [`${EDGE}/target`, 'echo', '--payload', '{"from":"cli"}', '--timeout', '10']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.json, { status: 201, payload: { echoed: { from: 'cli' }, by: 'target' } });
  });

  it('prints the hub\'s error and exits 1: not connected (404), bad timeout (400)', async () => {
    const offline = await methodCli(hub!, [`${EDGE}/idle`, 'echo']);
    assert.equal(offline.code, 1);
    assert.equal(offline.json.errorCode, 404103);
    assert.match(offline.stderr, /404 .*not connected \[OUTPOST_METHOD_TARGET_OFFLINE\]/);
    const badTimeout = await methodCli(hub!, [`${EDGE}/target`, 'echo', '--timeout', '4']);
    assert.equal(badTimeout.code, 1);
    assert.match(badTimeout.stderr, /400 responseTimeoutInSeconds must be an integer from 5 to 300/);
  });

  it('refuses a payload that is not JSON before asking the hub', async () => {
    const usage = await methodCli(hub!, [`${EDGE}/target`, 'echo', '--payload', '{nope']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--payload is not valid JSON: .*OUTPOST_CLI_USAGE/);
  });
});
