/**
 * `$modelId` over AMQP: the events link's `com.microsoft:model-id` property (IoT Plug and Play;
 * over MQTT it is the user name's `model-id`) becomes `$modelId` on every message of that link,
 * single or batched, and a route can select on it; a link without it (or with a blank one) gives
 * none, and a message cannot claim one of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import rhea, { type Connection, type EventContext, type Sender } from 'rhea';
import { audience, EDGE, nextEvent, rheaConnect, sasToken, setUp, tearDown, until, type AmqpSite } from './amqp-harness.js';
import { CbsClient, dataSection, sendSettled } from './rhea-client.js';

const MODEL = 'dtmi:com:example:Thermostat;1';
const BATCH_FORMAT = 0x80013700;

let site: AmqpSite | undefined;
let connection: Connection;
const routed: { text: string; deviceId: unknown }[] = [];

before(async () => {
  site = await setUp([['dev1'], ['dev2'], [EDGE, 'sink']], { thermostats: `FROM /messages/* WHERE $modelId = '${MODEL}' INTO BrokeredEndpoint("/modules/sink/inputs/in")` });
  connection = await rheaConnect(site);
  const cbs = await CbsClient.open(connection);
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  for (const [deviceId, moduleId] of [['dev1'], ['dev2'], [EDGE, 'sink']] as [string, string?][]) {
    assert.equal((await cbs.putToken(audience(deviceId, moduleId), sasToken(site, deviceId, moduleId, expiry))).code, 200);
  }
  const receiver = connection.open_receiver({ source: { address: `/devices/${EDGE}/modules/sink/messages/events` } });
  receiver.on('message', (context: EventContext) => {
    const message = context.message!;
    routed.push({ text: Buffer.from((message.body as { content: Buffer }).content).toString(), deviceId: (message.message_annotations as Record<string, unknown> | undefined)?.['iothub-connection-device-id'] });
  });
  await nextEvent(receiver, 'receiver_open');
});

after(async () => {
  await tearDown(site);
});

async function eventsSender(deviceId: string, modelId: string | undefined): Promise<Sender> {
  const sender = connection.open_sender({ target: { address: `/devices/${deviceId}/messages/events` }, properties: modelId === undefined ? undefined : { 'com.microsoft:model-id': modelId } });
  await nextEvent(sender, 'sendable');
  return sender;
}

describe('$modelId from the AMQP events link', () => {
  it('is set on single and batched messages of a link that names a model, and routes on it', async () => {
    const withModel = await eventsSender('dev1', MODEL);
    const without = await eventsSender('dev2', undefined);
    const blank = await eventsSender('dev2', '  ');
    assert.equal(await sendSettled(without, { body: dataSection('no model') }), 'accepted');
    assert.equal(await sendSettled(blank, { body: dataSection('blank model') }), 'accepted');
    // A message cannot set the system property for itself: only the link's property counts. (An
    // application property literally named `$modelId` would be read by `$modelId` in a route: the
    // route language's own rule, test/routing's conformance cases.)
    assert.equal(await sendSettled(without, { body: dataSection('claims a model'), message_annotations: { modelId: MODEL, $modelId: MODEL, 'com.microsoft:model-id': MODEL }, application_properties: { modelId: MODEL, 'com.microsoft:model-id': MODEL } }), 'accepted');
    assert.equal(await sendSettled(withModel, { body: dataSection('single') }), 'accepted');
    const batch = rhea.message.encode({ body: rhea.message.data_sections([rhea.message.encode({ body: dataSection('batched') })]) });
    withModel.send(batch, undefined, BATCH_FORMAT);
    await until(routed, 2);
    // Give anything wrongly routed the time to arrive after them.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(routed.map((r) => r.text), ['single', 'batched']);
    for (const r of routed) assert.equal(r.deviceId, 'dev1');
  });
});
