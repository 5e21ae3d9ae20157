/**
 * Settlement follows the store: with store.maxSize reached (fullPolicy refuse) and nobody reading
 * the module input the route feeds, telemetry over AMQP is settled `rejected` with the store's AMQP
 * condition (OUTPOST_STORE_FULL: amqp:resource-limit-exceeded), never `accepted`; the link stays
 * attached and the connection's other links go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { audience, EDGE, rheaConnect, sasToken, setUp, tearDown, type AmqpSite } from './amqp-harness.js';
import { CbsClient, dataSection, openSender, sendSettled } from './rhea-client.js';

let site: AmqpSite | undefined;

before(async () => {
  site = await setUp([['dev1'], [EDGE, 'absent']], { toAbsent: 'FROM /messages/* INTO BrokeredEndpoint("/modules/absent/inputs/in")' }, { OUTPOST_STORE__MAX_SIZE: '64KiB' });
});

after(async () => {
  await tearDown(site);
});

describe('AMQP settlement when the store is full', () => {
  it('rejects with amqp:resource-limit-exceeded once the store refuses, and keeps the link', async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    assert.equal((await cbs.putToken(audience('dev1'), sasToken(site!, 'dev1', undefined, Math.floor(Date.now() / 1000) + 3600))).code, 200);
    const sender = await openSender(connection, '/devices/dev1/messages/events');
    const outcomes: string[] = [];
    for (let i = 0; i < 200 && !outcomes.some((o) => o.startsWith('rejected')); i++) {
      outcomes.push(await sendSettled(sender, { body: dataSection(Buffer.alloc(2048, 0x62)) }));
    }
    assert.equal(outcomes[0], 'accepted', 'the first messages fit');
    assert.equal(outcomes.at(-1), 'rejected:amqp:resource-limit-exceeded', outcomes.slice(-3).join(','));
    assert.ok(sender.is_open(), 'a refused message does not detach the link');
    const line = await site!.outpost.waitFor((l) => l.event === 'amqp.message_refused');
    assert.equal(line.code, 'OUTPOST_STORE_FULL');
    // The refusal is logged once per group of transfers settled together (one store write); sent
    // one at a time here, each group is one message.
    assert.equal(line.messages, 1);
  });
});
