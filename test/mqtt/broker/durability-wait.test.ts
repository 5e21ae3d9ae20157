/**
 * Which publishes wait for the disk (issue 14 item 2): a PUBACK waits for the broker-store batch
 * holding the publish's own writes (retained; QoS 1/2 for a persistent session) and for nothing
 * else. The ordinary QoS 1 path to online clean subscribers is acknowledged at once, even when
 * another publish of the same event-loop turn wrote (before, any pending write made it wait).
 * One batch carries the writes of one turn, so publishes that wrote in that turn share one promise.
 * The real Broker on a real RocksBrokerStore in a temporary directory.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Broker, RocksBrokerStore, type BrokerMessage, type SessionLink, type Subscription } from '../../../src/hub/broker/index.js';
import { createLogger } from '../../../src/log/index.js';
import { tempDir } from '../../helpers/outpost-process.js';

const logger = createLogger({ level: 'silent' });
const dirs: { remove(): void }[] = [];
after(() => {
  for (const dir of dirs) dir.remove();
});

function link(): SessionLink & { sent: string[] } {
  const sent: string[] = [];
  return {
    protocolVersion: 5,
    sent,
    sendPublish: (message) => {
      sent.push(message.topic);
      return true;
    },
    sendPubrel: () => undefined,
    isCongested: () => false,
  };
}

function message(topic: string, retain: boolean): BrokerMessage {
  return { topic, payload: Buffer.from('x'), qos: 1, retain, properties: undefined, expiresAtMs: undefined, senderClientId: 'pub' };
}

function subscription(clientId: string, filter: string): Subscription {
  return { clientId, filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: undefined, shareGroup: undefined };
}

describe('what a PUBACK waits for', () => {
  it('waits for the batch of its own writes only; a publish to online clean sessions never waits', async () => {
    const dir = tempDir('outpost-durability-');
    dirs.push(dir);
    const broker = new Broker({ limits: { maxInflight: 64, maxQueued: 1000 }, store: new RocksBrokerStore(dir.path, logger), logger });
    await broker.start();
    const online = link();
    const clean = broker.connect('clean-sub', true, 0, online, undefined).session;
    broker.subscribe(clean, [subscription('clean-sub', 'live/#')]);
    const durable = broker.connect('durable-sub', false, 3600, link(), undefined).session;
    broker.subscribe(durable, [subscription('durable-sub', 'kept/#')]);
    broker.disconnect(durable);

    // One event-loop turn: a retained publish, a publish queued for the offline persistent session,
    // and plain publishes to the online clean session around them.
    broker.publish(message('live/0', false));
    assert.equal(broker.durability(), undefined, 'nothing written: acknowledged at once');
    broker.publish(message('status/a', true));
    const retained = broker.durability();
    assert.ok(retained instanceof Promise, 'a retained message waits for its write');
    broker.publish(message('live/1', false));
    assert.equal(broker.durability(), undefined, 'a publish that wrote nothing does not wait for another one\'s write');
    broker.publish(message('kept/1', false));
    const queued = broker.durability();
    assert.ok(queued instanceof Promise, 'a message queued for a persistent session waits for its write');
    assert.equal(queued, retained, 'writes of one turn go out in one batch, with one promise');
    assert.deepEqual(online.sent, ['live/0', 'live/1']);
    await Promise.all([retained, queued]);
    await broker.close();
  });
});
