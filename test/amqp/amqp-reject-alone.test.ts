// rejectAlone against rhea 3.0.5's disposition ranges: a delivery accepted and the next one
// rejected in the same tick must reach the sender as accepted and rejected. With rhea's own
// `delivery.reject` both arrive `accepted` (one range 0..1 with the first's state), so a message
// the store refused would be dropped by its sender. Real rhea on both ends, over loopback TCP.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import rhea, { type Delivery, type EventContext } from 'rhea';
import { rejectAlone } from '../../src/hub/transport/amqp/reject-alone.js';

const DEADLINE_MS = 20_000;

/** Sends `outcomes.length` messages; the server settles them all in one tick, in order; returns what the sender saw. */
async function settleTogether(outcomes: ReadonlyArray<'accept' | 'reject'>): Promise<string[]> {
  const server = rhea.create_container();
  const held: Delivery[] = [];
  server.on('receiver_open', (context: EventContext) => context.receiver!.add_credit(outcomes.length));
  server.on('message', (context: EventContext) => {
    held.push(context.delivery!);
    if (held.length < outcomes.length) return;
    // All of them in one tick, as the store's promises resolve together.
    setImmediate(() => {
      outcomes.forEach((outcome, i) => (outcome === 'accept' ? held[i]!.accept() : rejectAlone(held[i]!, { condition: 'amqp:resource-limit-exceeded', description: 'full' })));
    });
  });
  const listener = server.listen({ port: 0, host: '127.0.0.1', autoaccept: false, credit_window: 0 } as never) as unknown as import('node:net').Server;
  await new Promise<void>((resolve) => listener.once('listening', resolve));
  const client = rhea.create_container();
  const connection = client.connect({ port: (listener.address() as AddressInfo).port, host: '127.0.0.1', reconnect: false } as never);
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const seen = new Array<string>(outcomes.length);
      let count = 0;
      const timer = setTimeout(() => reject(new Error(`outcomes not all seen within ${DEADLINE_MS} ms: ${JSON.stringify(seen)}`)), DEADLINE_MS);
      const sender = connection.open_sender({ target: { address: 'q' }, autosettle: true } as never);
      let sent = false;
      sender.on('sendable', () => {
        if (sent) return;
        sent = true;
        for (let i = 0; i < outcomes.length; i++) sender.send({ body: `m${i}` });
      });
      const record = (outcome: string) => (context: EventContext) => {
        seen[context.delivery!.id] = outcome;
        if (++count === outcomes.length) {
          clearTimeout(timer);
          resolve(seen);
        }
      };
      sender.on('accepted', record('accept'));
      sender.on('rejected', record('reject'));
    });
  } finally {
    connection.close();
    listener.close();
  }
}

describe('AMQP rejections in a disposition batch of their own', () => {
  it('an accepted delivery followed by a rejected one: the sender sees both outcomes', async () => {
    assert.deepEqual(await settleTogether(['accept', 'reject']), ['accept', 'reject']);
  });

  it('a rejected delivery followed by accepted ones, and mixed runs', async () => {
    assert.deepEqual(await settleTogether(['reject', 'accept', 'accept']), ['reject', 'accept', 'accept']);
    assert.deepEqual(await settleTogether(['accept', 'accept', 'reject', 'accept', 'reject', 'reject', 'accept']), ['accept', 'accept', 'reject', 'accept', 'reject', 'reject', 'accept']);
  });
});
