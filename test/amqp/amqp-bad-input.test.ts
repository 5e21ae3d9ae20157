/**
 * Bad input on the AMQP listener, each answered on its own and nothing else disturbed: garbage
 * after the protocol header and an oversize frame get an AMQP close carrying the error (then the
 * socket closes); garbage instead of a header just closes; an oversize message detaches its link
 * with amqp:link:message-size-exceeded; links in a direction a node does not serve are detached;
 * SASL PLAIN and MSSBCBS logins work. After all of it, a client still connects and sends.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { audience, rheaConnect, sasToken, setUp, tearDown, type AmqpSite } from './amqp-harness.js';
import { CbsClient, dataSection, detached, openSender, sendSettled } from './rhea-client.js';

const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]);
let site: AmqpSite | undefined;

before(async () => {
  site = await setUp([['dev1'], ['dev2']], {});
});

after(async () => {
  await tearDown(site);
});

const hourFromNow = () => Math.floor(Date.now() / 1000) + 3600;

/** Writes `bytes` on a fresh TLS connection and resolves with everything the hub sent before closing. */
function exchange(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: 'localhost', port: site!.amqpPort, ca: site!.ca, servername: 'localhost' }, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the hub did not close the connection; it sent ${Buffer.concat(chunks).toString('latin1')}`));
    }, 20_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** An AMQP frame (section 2.3.1) on channel 0 with the given body. */
function frame(body: Buffer, announcedSize = 8 + body.length): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(announcedSize, 0);
  header.writeUInt8(2, 4); // doff: 2 words
  header.writeUInt8(0, 5); // type: AMQP
  return Buffer.concat([header, body]);
}

async function stillServes(): Promise<void> {
  const connection = await rheaConnect(site!);
  const cbs = await CbsClient.open(connection);
  assert.equal((await cbs.putToken(audience('dev1'), sasToken(site!, 'dev1', undefined, hourFromNow()))).code, 200);
  const sender = await openSender(connection, '/devices/dev1/messages/events');
  assert.equal(await sendSettled(sender, { body: dataSection('after bad input') }), 'accepted');
  connection.close();
}

describe('bad input on the AMQP listener', () => {
  it('closes with amqp:decode-error (an AMQP close frame) on garbage after the header', async () => {
    // A described open (0x00 0x53 0x10) whose list is an unknown type code.
    const answer = await exchange(Buffer.concat([AMQP_HEADER, frame(Buffer.from([0x00, 0x53, 0x10, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe]))]));
    assert.ok(answer.subarray(0, 8).equals(AMQP_HEADER), 'the hub answers with its protocol header');
    assert.ok(answer.includes(Buffer.from('amqp:decode-error')), `a close with amqp:decode-error: ${answer.toString('latin1')}`);
    await stillServes();
  });

  it('closes with amqp:connection:framing-error on a frame larger than it announced', async () => {
    const answer = await exchange(Buffer.concat([AMQP_HEADER, frame(Buffer.alloc(32), 0x7fff_ffff)]));
    assert.ok(answer.includes(Buffer.from('amqp:connection:framing-error')), `a close with a framing error: ${answer.toString('latin1')}`);
    await stillServes();
  });

  it('closes a connection that sends no AMQP header', async () => {
    const answer = await exchange(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.ok(!answer.includes(Buffer.from('HTTP/')), 'no HTTP answer');
    await stillServes();
  });

  it('detaches a link whose message is larger than amqp.maxMessageSize, and only that link', async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    assert.equal((await cbs.putToken(audience('dev1'), sasToken(site!, 'dev1', undefined, hourFromNow()))).code, 200);
    assert.equal((await cbs.putToken(audience('dev2'), sasToken(site!, 'dev2', undefined, hourFromNow()))).code, 200);
    const big = await openSender(connection, '/devices/dev1/messages/events');
    const other = await openSender(connection, '/devices/dev2/messages/events');
    const closed = detached(big);
    const outcome = await sendSettled(big, { body: dataSection(Buffer.alloc(1024 * 1024 + 1, 0x61)) });
    assert.ok(outcome === 'detached' || outcome === 'rejected:amqp:link:message-size-exceeded', outcome);
    assert.equal(await closed, 'amqp:link:message-size-exceeded');
    assert.equal(await sendSettled(other, { body: dataSection('small') }), 'accepted');
    connection.close();
  });

  it('detaches links in a direction the node does not serve', async () => {
    const connection = await rheaConnect(site!);
    const cbs = await CbsClient.open(connection);
    assert.equal((await cbs.putToken(audience('dev1'), sasToken(site!, 'dev1', undefined, hourFromNow()))).code, 200);
    await assert.rejects(openSender(connection, '/devices/dev1/messages/devicebound'), (error: any) => error.condition === 'amqp:not-allowed');
    const receiver = connection.open_receiver({ source: { address: '/devices/dev1/messages/events' } });
    assert.equal(await detached(receiver), 'amqp:not-allowed');
    connection.close();
  });

  it('offers SASL ANONYMOUS, MSSBCBS and PLAIN, in that order, on every connection', async () => {
    const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as { read_frame(buffer: Buffer): { performative: { sasl_server_mechanisms: unknown } } | null };
    const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]);
    for (let i = 0; i < 2; i += 1) {
      const received = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect({ host: 'localhost', port: site!.amqpPort, ca: site!.ca, servername: 'localhost' }, () => socket.write(SASL_HEADER));
        let bytes = Buffer.alloc(0);
        const timer = setTimeout(() => reject(new Error('no sasl-mechanisms frame')), 20_000);
        socket.on('data', (chunk: Buffer) => {
          bytes = Buffer.concat([bytes, chunk]);
          if (bytes.length >= 12 && bytes.length >= 8 + bytes.readUInt32BE(8)) {
            clearTimeout(timer);
            socket.destroy();
            resolve(bytes);
          }
        });
        socket.on('error', () => undefined);
      });
      assert.deepEqual(received.subarray(0, 8), SASL_HEADER);
      assert.deepEqual(frames.read_frame(received.subarray(8))!.performative.sasl_server_mechanisms, ['ANONYMOUS', 'MSSBCBS', 'PLAIN']);
    }
  });

  it('takes SASL PLAIN ({device}@sas.{hub} and a SAS token) and SASL MSSBCBS followed by CBS', async () => {
    const hub = audience('dev1').split('/')[0]!;
    const plain = await rheaConnect(site!, { username: `dev1@sas.${hub.split('.')[0]}`, password: sasToken(site!, 'dev1', undefined, hourFromNow()) });
    const sender = await openSender(plain, '/devices/dev1/messages/events');
    assert.equal(await sendSettled(sender, { body: dataSection('plain') }), 'accepted');
    plain.close();
    await assert.rejects(rheaConnect(site!, { username: `dev1@sas.${hub.split('.')[0]}`, password: sasToken(site!, 'dev2', undefined, hourFromNow()) }));
    const cbsOnly = await rheaConnect(site!, {
      sasl_mechanisms: { MSSBCBS: () => ({ start: (callback: (error: unknown, response: Buffer) => void) => callback(undefined, Buffer.alloc(0)) }) },
    } as never);
    const cbs = await CbsClient.open(cbsOnly);
    assert.equal((await cbs.putToken(audience('dev2'), sasToken(site!, 'dev2', undefined, hourFromNow()))).code, 200);
    const viaCbs = await openSender(cbsOnly, '/devices/dev2/messages/events');
    assert.equal(await sendSettled(viaCbs, { body: dataSection('mssbcbs') }), 'accepted');
    cbsOnly.close();
  });
});
