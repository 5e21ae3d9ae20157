// session-scheduling.ts: a connection's tick walks only the sessions that may have something to
// write. Two rhea containers in this process talk over loopback TCP (both scheduled, as the hub's
// listener and upstream link are): a tick after one send walks a handful of sessions, not all of
// them; and with windows small enough that every session needs frames it did not ask for itself
// (session flows after the peer settles, link credit, `sendable` after being blocked), every
// message of every session arrives and is settled, with sessions ended and begun meanwhile.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import rhea, { type Connection, type Container, type EventContext, type Sender, type Session } from 'rhea';
import { installSessionScheduling } from '../../src/hub/amqp-common/session-scheduling.js';

installSessionScheduling();
const sessionPrototype = (createRequire(import.meta.url)('rhea/lib/session.js') as { prototype: { _process(): void } }).prototype;

/** Counts the session walks of each connection (wrapped after scheduling, as it calls the prototype's). */
const walks = new Map<unknown, number>();
const walk = sessionPrototype._process;
sessionPrototype._process = function countedWalk(this: { connection: unknown }) {
  walks.set(this.connection, (walks.get(this.connection) ?? 0) + 1);
  walk.call(this);
};

function once<T>(emitter: { once(event: string, fn: (context: T) => void): unknown }, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (context: T) => {
      clearTimeout(timer);
      resolve(context);
    });
  });
}

const DOWN_MESSAGES = 60;
/** A lost frame would stall a test rather than fail it: bounded. */
const TEST_TIMEOUT_MS = 60_000;

interface Peer {
  server: Server;
  container: Container;
  port: number;
  /** Bodies received, by the receiving link's target address. */
  received: Map<string, number[]>;
}

/** A listening container that settles what it receives a little later (from a timer, nothing else going on), with small windows. */
async function listen(): Promise<Peer> {
  const container = rhea.create_container({ id: 'scheduling-server' });
  const received = new Map<string, number[]>();
  container.on('message', (context: EventContext) => {
    const address = context.receiver!.target.address as string;
    let bodies = received.get(address);
    if (bodies === undefined) received.set(address, (bodies = []));
    bodies.push(context.message!.body as number);
    const delivery = context.delivery!;
    setTimeout(() => delivery.accept(), 1);
  });
  // A receiver attached by the client on `down-<n>`: 60 messages sent to it as credit allows, pre-settled.
  container.on('sender_open', (context: EventContext) => {
    const sender = context.sender!;
    let sent = 0;
    const pump = (): void => {
      while (sent < DOWN_MESSAGES && sender.sendable()) sender.send({ body: sent++ });
    };
    sender.on('sendable', pump);
    pump();
  });
  // Peer-initiated sessions: 8 unsettled deliveries each, so a session flow must follow every settlement.
  const server = container.listen({ port: 0, host: '127.0.0.1', session_buffer_size: 8, autoaccept: false, credit_window: 4, snd_settle_mode: 1 } as never) as unknown as Server;
  await once(server as never, 'listening');
  return { server, container, port: (server.address() as AddressInfo).port, received };
}

async function connect(port: number): Promise<Connection> {
  const container = rhea.create_container({ id: 'scheduling-client' });
  const connection = container.connect({ port, host: '127.0.0.1', reconnect: false });
  await once(connection, 'connection_open');
  return connection;
}

function close(connection: Connection): Promise<void> {
  const closed = once(connection, 'connection_close');
  connection.close();
  return closed.then(() => undefined);
}

async function openSender(session: Session, address: string): Promise<Sender> {
  const sender = session.attach_sender({ target: { address } });
  await once(sender, 'sendable');
  return sender;
}

/** Sends `count` messages on `sender` as credit and the session allow; resolves when all are accepted. */
function sendAll(sender: Sender, count: number): Promise<void> {
  let sent = 0;
  let accepted = 0;
  return new Promise((resolve) => {
    const pump = (): void => {
      while (sent < count && sender.sendable()) sender.send({ body: sent++ });
    };
    sender.on('sendable', pump);
    sender.on('accepted', () => {
      if (++accepted === count) resolve();
    });
    pump();
  });
}

describe('AMQP session scheduling (rhea: a tick walks the sessions with something to write)', () => {
  let peer: Peer;
  before(async () => {
    peer = await listen();
  });
  after(async () => {
    await new Promise((resolve) => peer.server.close(resolve));
  });

  it('walks a handful of sessions for one message on a connection of 200 idle ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    const connection = await connect(peer.port);
    try {
      const sessions = Array.from({ length: 200 }, () => connection.create_session());
      for (const session of sessions) session.begin();
      const senders = await Promise.all(sessions.map((session, i) => openSender(session, `idle-${i}`)));
      // Everything set up has settled: the next walks are the message's.
      await new Promise((resolve) => setTimeout(resolve, 50));
      walks.set(connection, 0);
      await sendAll(senders[137]!, 1);
      const walked = walks.get(connection) ?? 0;
      // The send's tick and the disposition's: the sending session each time (rhea walks all 200 per tick).
      assert.ok(walked >= 1 && walked <= 6, `${walked} session walks for one message`);
      assert.deepEqual(peer.received.get('idle-137'), [0]);
    } finally {
      await close(connection);
    }
  });

  it('delivers and settles every message of 50 sessions with small windows, sessions ended and begun meanwhile', { timeout: TEST_TIMEOUT_MS }, async () => {
    const connection = await connect(peer.port);
    try {
      const perSession = 60;
      const first = Array.from({ length: 50 }, () => connection.create_session(4));
      for (const session of first) session.begin();
      const senders = await Promise.all(first.map((session, i) => openSender(session, `busy-${i}`)));
      const sending = senders.map((sender) => sendAll(sender, perSession));
      // Ten sessions end once their messages are settled; ten new ones (reusing their channels) send more.
      const ended = Promise.all(first.slice(0, 10).map(async (session, i) => {
        await sending[i];
        const closed = once(session, 'session_close');
        session.close();
        await closed;
      }));
      await ended;
      const second = Array.from({ length: 10 }, () => connection.create_session(4));
      for (const session of second) session.begin();
      const more = await Promise.all(second.map((session, i) => openSender(session, `again-${i}`)));
      await Promise.all([...sending, ...more.map((sender) => sendAll(sender, perSession))]);
      const expected = Array.from({ length: perSession }, (_, i) => i);
      for (let i = 0; i < 50; i++) assert.deepEqual(peer.received.get(`busy-${i}`), expected, `busy-${i}`);
      for (let i = 0; i < 10; i++) assert.deepEqual(peer.received.get(`again-${i}`), expected, `again-${i}`);
    } finally {
      await close(connection);
    }
  });

  it('receives every message on 30 sessions with small windows and credit (pre-settled: only the receiving side renews them)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const connection = await connect(peer.port);
    try {
      const sessions = Array.from({ length: 30 }, () => connection.create_session(4));
      for (const session of sessions) session.begin();
      const bodies = sessions.map(() => [] as number[]);
      await Promise.all(sessions.map((session, i) => new Promise<void>((resolve) => {
        const receiver = session.attach_receiver({ source: { address: `down-${i}` }, credit_window: 2 });
        receiver.on('message', (context: EventContext) => {
          bodies[i]!.push(context.message!.body as number);
          if (bodies[i]!.length === DOWN_MESSAGES) resolve();
        });
      })));
      const expected = Array.from({ length: DOWN_MESSAGES }, (_, i) => i);
      for (let i = 0; i < 30; i++) assert.deepEqual(bodies[i], expected, `down-${i}`);
    } finally {
      await close(connection);
    }
  });
});
