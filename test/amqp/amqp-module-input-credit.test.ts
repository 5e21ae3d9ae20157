/**
 * A module that grants less credit than store.deliveryWindow still gets its routed messages at
 * once: module inputs sent while its link has no credit wait in the link and go as credit comes
 * back. (They used to be refused, so the store took the module for unavailable and backed off
 * store.retryInterval every time the module's credit ran out; with the interval set to a minute
 * here, that stalled delivery for a minute.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventContext } from 'rhea';
import { audience, EDGE, rheaConnect, sasToken, setUp, tearDown, until, type AmqpSite } from './amqp-harness.js';
import { CbsClient, dataSection, openSender, sendSettled } from './rhea-client.js';

const CREDIT = 5;
const ROUNDS = 3;
const SETTLE_MS = 300;

let site: AmqpSite | undefined;

before(async () => {
  site = await setUp([[EDGE, 'source'], [EDGE, 'sink']], { toSink: `FROM /messages/modules/source/* INTO BrokeredEndpoint("/modules/sink/inputs/in")` }, { OUTPOST_STORE__RETRY_INTERVAL: '60s', OUTPOST_STORE__RETRY_INTERVAL_MAX: '60s' });
});

after(async () => {
  await tearDown(site);
});

describe('AMQP module input with little credit', () => {
  it(`delivers to a module granting ${CREDIT} credits at a time, as credit comes back, in order, without the store backing off`, async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    for (const moduleId of ['source', 'sink']) assert.equal((await cbs.putToken(audience(EDGE, moduleId), sasToken(site!, EDGE, moduleId, expiry))).code, 200);
    const received: string[] = [];
    // Credit by hand: CREDIT at a time, given back only when the test says so.
    const receiver = connection.open_receiver({ source: { address: `/devices/${EDGE}/modules/sink/messages/events` }, credit_window: 0, autoaccept: false });
    receiver.on('message', (context: EventContext) => {
      received.push(Buffer.from((context.message!.body as { content: Buffer }).content).toString());
      context.delivery!.accept();
    });
    await new Promise<void>((resolve) => receiver.once('receiver_open', () => resolve()));
    receiver.add_credit(CREDIT);
    const sender = await openSender(connection, `/devices/${EDGE}/modules/source/messages/events`);
    const sent = Array.from({ length: ROUNDS * CREDIT }, (_, i) => `m${i}`);
    for (let round = 0; round < ROUNDS; round++) {
      // Each round's messages are stored (settled accepted) while the module has no credit left, so
      // the store tries to deliver them to a link without credit.
      for (const text of sent.slice(round * CREDIT, (round + 1) * CREDIT)) assert.equal(await sendSettled(sender, { application_properties: { 'iothub-outputname': 'out' }, body: dataSection(text) }), 'accepted');
      // The store's delivery runs within microtasks of the commit that settled them; this leaves
      // it ample time to meet the empty credit (it cannot make the fixed hub fail, only let the old
      // one pass under extreme load).
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      if (round > 0) receiver.add_credit(CREDIT);
      // Well under the 60 s retry interval: a backoff misses this deadline.
      await until(received, (round + 1) * CREDIT, 20_000);
    }
    assert.deepEqual(received, sent);
  });
});
