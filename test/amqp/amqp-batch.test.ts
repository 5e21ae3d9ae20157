/**
 * Batched AMQP messages on an events link (message-format 0x80013700, one encoded message per
 * Data section: what Azure's edge hub and an Outpost child send upstream), sent by rhea itself:
 * every message of a batch is stored and routed in order with the link's identity, the transfer
 * settled once they all are; a batch that does not decode, or of another format, is rejected with
 * an AMQP condition and none of it is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import rhea, { type Connection, type EventContext, type Message, type Sender } from 'rhea';
import { audience, EDGE, rheaConnect, sasToken, setUp, tearDown, until, type AmqpSite } from './amqp-harness.js';
import { CbsClient, dataSection, openSender, sendSettled } from './rhea-client.js';

/** IoT Hub's batched message format (`AmqpConstants.AmqpBatchedMessageFormat`), spelled here independently of the product. */
const BATCH_FORMAT = 0x80013700;

interface Routed {
  readonly text: string;
  readonly deviceId: unknown;
  readonly messageId: unknown;
  readonly property: unknown;
}

let site: AmqpSite | undefined;
let connection: Connection;
let sender: Sender;
const routed: Routed[] = [];

before(async () => {
  site = await setUp([['dev1'], [EDGE, 'sink']], { toSink: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/sink/inputs/in")' });
  connection = await rheaConnect(site);
  const cbs = await CbsClient.open(connection);
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  assert.equal((await cbs.putToken(audience('dev1'), sasToken(site, 'dev1', undefined, expiry))).code, 200);
  assert.equal((await cbs.putToken(audience(EDGE, 'sink'), sasToken(site, EDGE, 'sink', expiry))).code, 200);
  const receiver = connection.open_receiver({ source: { address: `/devices/${EDGE}/modules/sink/messages/events` } });
  receiver.on('message', (context: EventContext) => {
    const message = context.message!;
    routed.push({
      text: Buffer.from((message.body as { content: Buffer }).content).toString(),
      deviceId: (message.message_annotations as Record<string, unknown> | undefined)?.['iothub-connection-device-id'],
      messageId: message.message_id,
      property: (message.application_properties as Record<string, unknown> | undefined)?.color,
    });
  });
  await new Promise<void>((resolve) => receiver.once('receiver_open', () => resolve()));
  sender = await openSender(connection, '/devices/dev1/messages/events');
});

after(async () => {
  await tearDown(site);
});

/** Sends a raw payload with a message-format and resolves with the outcome (`accepted`, `rejected:<condition>`). */
function sendRaw(payload: Buffer, format: number): Promise<string> {
  const delivery = sender.send(payload, undefined, format);
  return new Promise((resolve) => {
    const onAccepted = (context: EventContext) => context.delivery === delivery && done('accepted');
    const onRejected = (context: EventContext) => context.delivery === delivery && done(`rejected:${(context.delivery!.remote_state as { error?: { condition?: string } } | undefined)?.error?.condition ?? ''}`);
    const done = (outcome: string) => {
      sender.removeListener('accepted', onAccepted);
      sender.removeListener('rejected', onRejected);
      resolve(outcome);
    };
    sender.on('accepted', onAccepted);
    sender.on('rejected', onRejected);
  });
}

const part = (text: string, extra: Partial<Message> = {}): Buffer => rhea.message.encode({ body: dataSection(text), ...extra });
const batch = (parts: Buffer[]): Buffer => rhea.message.encode({ body: rhea.message.data_sections(parts) });

describe('batched AMQP messages (0x80013700) on an events link', () => {
  it('stores and routes every message of a batch in order, with the link\'s identity and each message\'s own properties', async () => {
    const parts = Array.from({ length: 5 }, (_, i) => part(`b${i}`, { message_id: `id-${i}`, application_properties: { color: `c${i}` } }));
    assert.equal(await sendRaw(batch(parts), BATCH_FORMAT), 'accepted');
    await until(routed, 5);
    assert.deepEqual(routed.map((r) => r.text), ['b0', 'b1', 'b2', 'b3', 'b4']);
    assert.deepEqual(routed.map((r) => r.messageId), ['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    assert.deepEqual(routed.map((r) => r.property), ['c0', 'c1', 'c2', 'c3', 'c4']);
    for (const r of routed) assert.equal(r.deviceId, 'dev1');
    // A batch of one is a batch too.
    assert.equal(await sendRaw(batch([part('single')]), BATCH_FORMAT), 'accepted');
    await until(routed, 6);
    assert.equal(routed[5]!.text, 'single');
  });

  it('rejects a batch with an undecodable section (amqp:decode-error) and stores none of it', async () => {
    const before = routed.length;
    const garbage = Buffer.from([0x00, 0x53, 0x75, 0xa0, 0xff, 0x01]);
    assert.equal(await sendRaw(batch([part('x0'), part('x1'), garbage, part('x3')]), BATCH_FORMAT), 'rejected:amqp:decode-error');
    // A body that is not Data sections, and an envelope that is not AMQP at all.
    assert.equal(await sendRaw(rhea.message.encode({ body: 'not sections' }), BATCH_FORMAT), 'rejected:amqp:decode-error');
    assert.equal(await sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]), BATCH_FORMAT), 'rejected:amqp:decode-error');
    // Another message-format is not served.
    assert.equal(await sendRaw(part('odd'), 0x12345), 'rejected:amqp:not-implemented');
    // The link stays up; a marker sent after them is the next routed message: nothing of the rejected ones was stored.
    assert.equal(await sendSettled(sender, { body: dataSection('marker') }), 'accepted');
    await until(routed, before + 1);
    assert.deepEqual(routed.slice(before).map((r) => r.text), ['marker']);
    assert.equal(site!.outpost.lines.filter((line) => line.event === 'amqp.batch_invalid')[0]?.code, 'OUTPOST_AMQP_BATCH_INVALID');
  });
});
