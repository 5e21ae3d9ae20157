/**
 * Twins with the Azure IoT device SDK: bad patches answered with status 400 and a reason while the
 * connection keeps working, the CLI's 404 and 400, and twin change notifications routed with
 * `FROM /twinChangeNotifications` to a module input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addIdentity, connectIdentity } from '../store/iot-clients.js';
import { connectionString, dataDir, EDGE, env, HUB, open, setUp, state, tearDown, twinCli, update } from './twin-sdk-harness.js';

before(setUp);
after(tearDown);

describe('twin errors and change notifications with the Azure IoT device SDK', () => {
  let deviceTwin: any;

  before(async () => {
    const device = await open('device', await connectionString(['dev1']));
    deviceTwin = await device.getTwin();
    await update(deviceTwin, { firmware: '1.0', status: { state: 'ready' } });
  });

  it('answers bad patches with 400 and a reason, changes nothing, and keeps the connection working', async () => {
    await assert.rejects(update(deviceTwin, { 'bad.key': 1 }), /bad\.key/);
    await assert.rejects(update(deviceTwin, { big: 'x'.repeat(5000) }), /4096/);
    let deep: any = { leaf: 1 };
    for (let i = 0; i < 11; i++) deep = { nested: deep };
    await assert.rejects(update(deviceTwin, deep), /deeper than 10/);
    await update(deviceTwin, { afterErrors: 'ok' });
    const shown = await twinCli(['show', 'dev1']);
    assert.deepEqual(shown.json.properties.reported, { firmware: '1.0', status: { state: 'ready' }, afterErrors: 'ok', $version: 3 });

    const unknown = await twinCli(['show', 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404 .*nobody.*OUTPOST_TWIN_NOT_FOUND/);
    const invalid = await twinCli(['update-desired', 'dev1', '--patch', '{"$version": 9}']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /400 .*OUTPOST_TWIN_PATCH_INVALID/);
    const notJson = await twinCli(['update-desired', 'dev1', '--patch', '{nope']);
    assert.match(notJson.stderr, /400 .*not valid JSON/);
  });

  it('routes twin change notifications with FROM /twinChangeNotifications to a module input', async () => {
    const sinkIdentity = await addIdentity(dataDir, env, EDGE, 'sink');
    const sink = await connectIdentity(HUB, state.port, state.ca, sinkIdentity);
    try {
      const got = new Promise<{ topic: string; body: any }>((resolve) =>
        sink.on('message', (topic, payload) => {
          const body = JSON.parse(payload.toString());
          if (body.properties?.reported?.routed === 'yes') resolve({ topic, body });
        }),
      );
      await sink.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
      await update(deviceTwin, { routed: 'yes' });
      const { topic, body } = await got;
      assert.match(topic, /^devices\/edge-1\/modules\/sink\/inputs\/twins\//);
      assert.match(decodeURIComponent(topic), /iothub-message-schema=twinChangeNotification/);
      assert.match(decodeURIComponent(topic), /opType=updateTwin/);
      assert.match(topic, /%24\.cdid=dev1/);
      assert.deepEqual(body.properties.reported, { routed: 'yes', $version: 4 });
    } finally {
      sink.end(true);
    }
  });
});
