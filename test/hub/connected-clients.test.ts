// The hub core's registry of live links (src/hub/core/connected-clients.ts): links registered
// with `register` (MQTT, no remover kept per connection) or `add` (AMQP, which keeps the
// remover), removed once, the newest link of an identity preferred.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectedClients, type ClientLink, type ClientSubscriptionKind } from '../../src/hub/core/index.js';

function link(identity: string, kinds: readonly ClientSubscriptionKind[] = ['methods']): ClientLink {
  return {
    identity,
    protocol: 'test',
    subscribed: (kind) => kinds.includes(kind),
    sendMethodRequest: () => true,
    sendModuleInput: () => true,
  } as ClientLink;
}

function watched(clients: ConnectedClients): { removed: ClientLink[]; changed: string[] } {
  const removed: ClientLink[] = [];
  const changed: string[] = [];
  clients.onRemoved((l) => removed.push(l));
  clients.onChanged((identity) => changed.push(identity));
  return { removed, changed };
}

describe('ConnectedClients', () => {
  it('removes a registered link once: a second remove, or one of a link never registered, tells nobody', () => {
    const clients = new ConnectedClients();
    const seen = watched(clients);
    const a = link('dev1');
    clients.register(a);
    assert.equal(clients.isConnected('dev1'), true);
    assert.deepEqual(seen.changed, ['dev1']);
    clients.remove(a);
    clients.remove(a);
    clients.remove(link('dev1'));
    clients.remove(link('dev2'));
    assert.equal(clients.isConnected('dev1'), false);
    assert.deepEqual(seen.removed, [a]);
    assert.deepEqual(seen.changed, ['dev1', 'dev1']);
  });

  it('prefers the newest link of an identity, and falls back to the older one when it goes', () => {
    const clients = new ConnectedClients();
    const older = link('dev1/mod1');
    const newer = link('dev1/mod1');
    clients.register(older);
    clients.register(newer);
    assert.equal(clients.linkFor('dev1/mod1', 'methods'), newer);
    clients.remove(newer);
    assert.equal(clients.linkFor('dev1/mod1', 'methods'), older);
    assert.deepEqual(clients.list(), [{ identity: 'dev1/mod1', protocols: ['test'] }]);
  });

  it("add's remover and remove are the same removal: whichever comes first counts", () => {
    const clients = new ConnectedClients();
    const seen = watched(clients);
    const a = link('dev1');
    const unregister = clients.add(a);
    clients.remove(a);
    unregister();
    assert.deepEqual(seen.removed, [a]);
    const b = link('dev1');
    const again = clients.add(b);
    again();
    again();
    assert.deepEqual(seen.removed, [a, b]);
    assert.equal(clients.isConnected('dev1'), false);
  });
});
