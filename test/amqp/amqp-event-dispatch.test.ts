// rhea's events dispatched without copying listener arrays (src/hub/amqp-common/event-dispatch.ts):
// the same order and bubbling as rhea's own, checked on a real rhea connection over loopback with
// the events handled at each level in turn.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import rhea, { type Connection, type EventContext } from 'rhea';
import { installFastDispatch } from '../../src/hub/amqp-common/event-dispatch.js';

installFastDispatch();

/** A listening container and a connected client; `where` says which level of the server handles 'message'. */
async function exchange(where: 'receiver' | 'session' | 'connection' | 'container'): Promise<{ handledAt: string[]; accepted: boolean }> {
  const server = rhea.create_container();
  const handledAt: string[] = [];
  const record = (level: string) => (context: EventContext) => {
    assert.equal(context.message?.body, 'hello');
    handledAt.push(level);
  };
  if (where === 'container') server.on('message', record('container'));
  server.on('connection_open', (context: EventContext) => {
    if (where === 'connection') context.connection.on('message', record('connection'));
  });
  server.on('session_open', (context: EventContext) => {
    if (where === 'session') context.session!.on('message', record('session'));
  });
  server.on('receiver_open', (context: EventContext) => {
    if (where === 'receiver') context.receiver!.on('message', record('receiver'));
  });
  const listener = server.listen({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => listener.once('listening', resolve));
  let connection: Connection | undefined;
  try {
    const client = rhea.create_container();
    connection = client.connect({ port: (listener.address() as AddressInfo).port, host: '127.0.0.1', reconnect: false });
    const sender = connection.open_sender('q');
    const accepted = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no disposition within 5 s')), 5_000);
      sender.once('sendable', () => sender.send({ body: 'hello' }));
      // The client's disposition events bubble to its connection: no listener on the sender.
      connection!.once('accepted', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    return { handledAt, accepted };
  } finally {
    connection?.close();
    listener.close();
  }
}

describe("rhea's event dispatch", () => {
  for (const where of ['receiver', 'session', 'connection', 'container'] as const) {
    it(`hands a message to a listener on the ${where}, once, and the receiver's auto-accept (an observer) still settles it`, async () => {
      const { handledAt, accepted } = await exchange(where);
      assert.deepEqual(handledAt, [where]);
      assert.equal(accepted, true);
    });
  }
});
