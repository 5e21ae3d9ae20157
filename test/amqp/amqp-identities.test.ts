/**
 * Many identities on one AMQP connection, each authenticated by its own CBS put-token and
 * authorized on its own (what a child gateway multiplexes), with rhea as the client: more than
 * 100 identities sending telemetry on one TLS connection; a link to an identity without a token is
 * detached while the others go on; CBS answers 401 for a wrong key and 400 for a malformed request;
 * an expired token detaches that identity's links only, and a renewed one keeps them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { audience, EDGE, rheaConnect, sasToken, setUp, tearDown, type AmqpSite } from './amqp-harness.js';
import { CbsClient, dataSection, detached, openSender, sendSettled } from './rhea-client.js';

const IDENTITIES = 120;
let site: AmqpSite | undefined;
const devices = Array.from({ length: IDENTITIES }, (_, i) => `child-${i}`);

before(async () => {
  // A clock skew of 0 s so a token is refused the moment its `se` passes (the default is 5 minutes).
  site = await setUp([...devices.map((d) => [d]), ['lonely'], ['expiring'], ['renewed'], [EDGE, 'mod']], {}, { OUTPOST_AUTH__SAS_CLOCK_SKEW: '0s' });
});

after(async () => {
  await tearDown(site);
});

const hourFromNow = () => Math.floor(Date.now() / 1000) + 3600;

describe('many identities on one AMQP connection', () => {
  it(`authenticates ${IDENTITIES} identities by put-token and takes telemetry from each, on one connection`, async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    const statuses = await Promise.all(devices.map((d) => cbs.putToken(audience(d), sasToken(site!, d, undefined, hourFromNow()))));
    assert.deepEqual(new Set(statuses.map((s) => s.code)), new Set([200]));
    const senders = await Promise.all(devices.map((d) => openSender(connection, `/devices/${d}/messages/events`)));
    const outcomes = await Promise.all(senders.map((sender, i) => sendSettled(sender, { message_id: `m-${i}`, body: dataSection(`{"i":${i}}`) })));
    assert.deepEqual(new Set(outcomes), new Set(['accepted']));
    // An identity that put no token on this connection gets no link, and the others are not disturbed.
    await assert.rejects(openSender(connection, '/devices/lonely/messages/events'), (error: any) => error.condition === 'amqp:unauthorized-access');
    assert.equal(await sendSettled(senders[0]!, { body: dataSection('after the refusal') }), 'accepted');
    // A module's token does not open its device's links (each identity is authorized on its own).
    assert.equal((await cbs.putToken(audience(EDGE, 'mod'), sasToken(site!, EDGE, 'mod', hourFromNow()))).code, 200);
    await assert.rejects(openSender(connection, `/devices/${EDGE}/messages/events`), (error: any) => error.condition === 'amqp:unauthorized-access');
    await assert.rejects(openSender(connection, '/devices/child-0/nowhere'), (error: any) => error.condition === 'amqp:not-found');
  });

  it('answers CBS put-token with 401 for a wrong key and 400 for a malformed request', async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    const wrongKey = Buffer.alloc(32, 9).toString('base64');
    const refused = await cbs.putToken(audience('lonely'), sasToken(site!, 'lonely', undefined, hourFromNow(), wrongKey));
    assert.equal(refused.code, 401);
    // A token for another identity than the audience names is refused the same way.
    const other = await cbs.putToken(audience('lonely'), sasToken(site!, 'child-1', undefined, hourFromNow()));
    assert.equal(other.code, 401);
    const malformed = await cbs.putToken(audience('lonely'), 'x', { operation: 'delete-token', name: 'lonely' });
    assert.equal(malformed.code, 400);
    const badAudience = await cbs.putToken('nowhere', sasToken(site!, 'lonely', undefined, hourFromNow()));
    assert.equal(badAudience.code, 400);
    await assert.rejects(openSender(connection, '/devices/lonely/messages/events'), (error: any) => error.condition === 'amqp:unauthorized-access');
  });

  it("detaches an identity's links when its token expires, and keeps those of an identity that renewed", async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    const soon = Math.floor(Date.now() / 1000) + 3;
    assert.equal((await cbs.putToken(audience('expiring'), sasToken(site!, 'expiring', undefined, soon))).code, 200);
    assert.equal((await cbs.putToken(audience('renewed'), sasToken(site!, 'renewed', undefined, soon))).code, 200);
    const expiring = await openSender(connection, '/devices/expiring/messages/events');
    const renewed = await openSender(connection, '/devices/renewed/messages/events');
    assert.equal((await cbs.putToken(audience('renewed'), sasToken(site!, 'renewed', undefined, hourFromNow()))).code, 200);
    assert.equal(await detached(expiring), 'amqp:unauthorized-access');
    assert.ok(renewed.is_open(), 'the renewed identity keeps its link');
    assert.equal(await sendSettled(renewed, { body: dataSection('renewed') }), 'accepted');
    // An expired token is not taken again.
    assert.equal((await cbs.putToken(audience('expiring'), sasToken(site!, 'expiring', undefined, soon))).code, 401);
  });
});
