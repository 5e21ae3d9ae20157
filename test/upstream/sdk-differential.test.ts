/**
 * Differential test (issue 18): the upstream link against the real Azure IoT device SDK's AMQP
 * client (azure-iot-device-amqp), the same telemetry and twin operations for the same device to
 * the same parent Outpost, both recorded frame by frame by one TLS-terminating proxy. Compared:
 * link addresses and settle modes, link properties, CBS put-token requests, the telemetry
 * message's properties, application properties and annotations, and the twin requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AmqpRecorder, RecordedAttach, RecordedConnection, RecordedTransfer } from '../helpers/amqp-recorder.js';
import { tempDir } from '../helpers/outpost-process.js';
import { recordBoth } from './sdk-differential-harness.js';
import { TwoHubs } from './upstream-harness.js';

describe('the upstream link speaks the Azure IoT device SDK\'s AMQP dialect (differential)', () => {
  let hubs: TwoHubs;
  let dir: { path: string; remove(): void };
  let sdk: RecordedConnection;
  let link: RecordedConnection;
  const clients: any[] = [];
  const recorders: AmqpRecorder[] = [];

  before(async () => {
    dir = tempDir('outpost-differential-');
    hubs = new TwoHubs(dir.path);
    hubs.addChildIdentity('dev1');
    await hubs.startParent();
    ({ sdk, link } = await recordBoth(hubs, clients, recorders));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(recorders.map((r) => r.stop()));
    await hubs.close();
    dir.remove();
  });

  // Links by what they are for; the SDK also attaches nothing else for these operations. The link's
  // connection also carries this edge device's $edgeAgent and $edgeHub (always relayed: their
  // desired properties are its deployment from above); only dev1's links and $cbs are compared.
  const linkKinds = (r: RecordedConnection) =>
    r.attaches.filter((a) => a.address === '$cbs' || a.address?.startsWith('/devices/dev1/')).map((a) => `${a.role} ${a.address}`).sort();
  // dev1's links only: the link's connection also carries the child edge device's system modules.
  const ofDev1 = (address: string | undefined, suffix: string) => address !== undefined && address.endsWith(suffix) && (suffix === '$cbs' || address.startsWith('/devices/dev1/'));
  const attachOf = (r: RecordedConnection, role: string, suffix: string): RecordedAttach => {
    const found = r.attaches.find((a) => a.role === role && ofDev1(a.address, suffix));
    assert.ok(found !== undefined, `a ${role} on …${suffix}`);
    return found;
  };
  const transfersOn = (r: RecordedConnection, suffix: string): RecordedTransfer[] => r.transfers.filter((t) => ofDev1(t.link.address, suffix));
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('attaches the same links (addresses and roles) with the same settle modes', () => {
    assert.deepEqual(linkKinds(link), linkKinds(sdk));
    for (const attach of sdk.attaches) {
      const ours = attachOf(link, attach.role, attach.address!);
      assert.deepEqual([ours.sndSettleMode, ours.rcvSettleMode], [attach.sndSettleMode, attach.rcvSettleMode], `settle modes of the ${attach.role} on ${attach.address}`);
    }
    // No SASL layer, as the SDK (tokens go on $cbs).
    assert.deepEqual(link.protocolIds, sdk.protocolIds);
  });

  it('puts the same link properties on the telemetry and twin links', () => {
    // Expected differences: the client-version string names the client (Outpost, not the SDK), and
    // the link adds com.microsoft:api-version on its telemetry link, as edge hub's upstream client
    // (the C# device SDK, AmqpIotSession) does on every link; the Node SDK sends it on method and twin links only.
    for (const [role, suffix] of [['sender', '/messages/events'], ['sender', '/twin'], ['receiver', '/twin'], ['sender', '/methods/devicebound'], ['receiver', '/methods/devicebound']] as const) {
      const theirs = attachOf(sdk, role, suffix).properties;
      const ours = attachOf(link, role, suffix).properties;
      const expectedKeys = new Set(Object.keys(theirs));
      if (suffix === '/messages/events') expectedKeys.add('com.microsoft:api-version');
      // Expected difference: the link sends for dev1 on behalf of it, signed by the child edge
      // device, and names the chain (target first, actor last) on each of dev1's links, as Azure's edge hub does.
      expectedKeys.add('com.microsoft:auth-chain');
      assert.equal(ours['com.microsoft:auth-chain'], 'dev1;child-edge');
      assert.deepEqual(Object.keys(ours).sort(), [...expectedKeys].sort(), `properties of the ${role} on …${suffix}`);
      assert.match(String(ours['com.microsoft:client-version']), /^outpost\/\d+\.\d+\.\d+/);
      assert.equal(ours['com.microsoft:api-version'], theirs['com.microsoft:api-version'] ?? attachOf(sdk, 'sender', '/twin').properties['com.microsoft:api-version']);
      if (theirs['com.microsoft:channel-correlation-id'] !== undefined) {
        const shape = (value: unknown) => String(value).replace(/[0-9a-f-]{36}$/, '<uuid>');
        assert.equal(shape(ours['com.microsoft:channel-correlation-id']), shape(theirs['com.microsoft:channel-correlation-id']));
      }
    }
    // The C2D receiver: client-version (and the auth chain) only, as the SDK's in the reference's
    // capture. Expected difference: the Node SDK attached after a method listener puts its methods
    // link's api-version and channel-correlation-id (`methods:<uuid>`) on it too (seen here).
    const c2d = attachOf(link, 'receiver', '/messages/devicebound').properties;
    assert.deepEqual(Object.keys(c2d).sort(), ['com.microsoft:auth-chain', 'com.microsoft:client-version']);
    const sdkC2d = attachOf(sdk, 'receiver', '/messages/devicebound').properties;
    assert.ok('com.microsoft:client-version' in sdkC2d);
    assert.match(String(sdkC2d['com.microsoft:channel-correlation-id'] ?? 'methods:'), /^methods:/);
    // Expected difference: the $cbs links carry no properties here; the Node SDK puts its
    // client-version on them too, edge hub's C# client (Microsoft.Azure.Amqp's CBS link) does not.
    assert.deepEqual(attachOf(link, 'sender', '$cbs').properties, {});
    assert.deepEqual(Object.keys(attachOf(sdk, 'sender', '$cbs').properties), ['com.microsoft:client-version']);
    // The twin pair shares one channel correlation id, as the SDK's.
    assert.equal(attachOf(link, 'sender', '/twin').properties['com.microsoft:channel-correlation-id'], attachOf(link, 'receiver', '/twin').properties['com.microsoft:channel-correlation-id']);
  });

  it('sends the same CBS put-token request', () => {
    const [theirs] = transfersOn(sdk, '$cbs');
    // dev1's put-token (the link also puts tokens for $edgeAgent and $edgeHub).
    const ours = transfersOn(link, '$cbs').find((t) => decodeURIComponent(String(t.message.application_properties?.name)).endsWith('/devices/dev1'));
    assert.ok(theirs !== undefined && ours !== undefined);
    assert.deepEqual([ours.message.to, ours.message.reply_to, ours.settled], [theirs.message.to, theirs.message.reply_to, theirs.settled]);
    const a = ours.message.application_properties;
    const b = theirs.message.application_properties;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    assert.deepEqual([a.operation, a.type], [b.operation, b.type]);
    // Expected difference: the Node SDK percent-encodes the audience in `name`; the link sends it
    // as edge hub's C# client does (`{hub}/devices/{d}`). The same audience once decoded.
    assert.equal(decodeURIComponent(a.name), decodeURIComponent(b.name));
    // The token: same shape. Expected difference: its `sr` is the child edge device's audience, not
    // dev1's — the link puts dev1's token on behalf of it, signed with the edge device's key (Azure's
    // edge hub in scope mode); the SDK signs with dev1's own key.
    const fields = (token: string) => new URLSearchParams(token.replace(/^SharedAccessSignature /, ''));
    assert.deepEqual([...fields(ours.message.body).keys()], [...fields(theirs.message.body).keys()]);
    assert.equal(fields(ours.message.body).get('sr'), fields(theirs.message.body).get('sr')!.replace(/dev1$/, 'child-edge'));
    // Expected difference: message-id is a uuid in the SDK, `put-token-<n>` here (any string correlates).
    assert.equal(typeof ours.message.message_id, typeof theirs.message.message_id);
  });

  it('sends the telemetry message with the same properties, application properties, annotations and body', () => {
    const [theirs] = transfersOn(sdk, '/messages/events');
    const [ours] = transfersOn(link, '/messages/events');
    assert.ok(theirs !== undefined && ours !== undefined);
    // Expected difference: the Node SDK's transport sets `to` to the link address on every message;
    // the C# client (edge hub) sends a `to` only when the message has one. Compared without it.
    const { to: sdkTo, ...sdkMessage } = theirs.message;
    assert.equal(sdkTo, '/devices/dev1/messages/events');
    assert.deepEqual({ ...ours.message }, { ...sdkMessage });
    assert.equal(ours.settled, theirs.settled);
  });

  it('answers a direct method the same way: correlation-id, status, body', () => {
    const [theirs] = transfersOn(sdk, '/methods/devicebound');
    const [ours] = transfersOn(link, '/methods/devicebound');
    assert.ok(theirs !== undefined && ours !== undefined, 'a method answer on each');
    assert.deepEqual(Object.keys(ours.message).sort(), Object.keys(theirs.message).sort(), 'message sections');
    // Expected difference: the request's correlation-id (a uuid string from an Outpost parent) comes
    // back as the link received it, a string; the SDK re-encodes any uuid-shaped id as an AMQP uuid
    // (reference, wire notes: a hub must accept both). From IoT Hub, which sends a uuid, the link's
    // echo is a uuid too (rhea keeps the 16-byte value in the uuid field).
    const idText = (id: unknown) => (Buffer.isBuffer(id) && id.length === 16 ? id.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5') : String(id));
    assert.equal(typeof ours.message.correlation_id, 'string');
    assert.ok(Buffer.isBuffer(theirs.message.correlation_id), 'the SDK sends an AMQP uuid');
    assert.match(idText(ours.message.correlation_id), UUID);
    assert.match(idText(theirs.message.correlation_id), UUID);
    assert.deepEqual(ours.message.application_properties, theirs.message.application_properties, 'IoThub-status');
    assert.equal(ours.message.body.typecode, theirs.message.body.typecode, 'body section');
    assert.deepEqual(JSON.parse(Buffer.from(ours.message.body.content).toString('utf8')), JSON.parse(Buffer.from(theirs.message.body.content).toString('utf8')));
    assert.equal(ours.settled, theirs.settled);
  });

  it('completes a C2D message the same way: the same receiver settle mode, nothing sent back on the link (the parent\'s queue emptied for both in the harness)', () => {
    assert.equal(transfersOn(sdk, '/messages/devicebound').length, 0);
    assert.equal(transfersOn(link, '/messages/devicebound').length, 0);
    assert.deepEqual(attachOf(link, 'receiver', '/messages/devicebound').rcvSettleMode, attachOf(sdk, 'receiver', '/messages/devicebound').rcvSettleMode);
  });

  it('sends the same twin requests: GET, PUT (desired subscription) and the reported PATCH', () => {
    for (const operation of ['GET', 'PUT', 'PATCH']) {
      const theirs = transfersOn(sdk, '/twin').find((t) => t.message.message_annotations?.operation === operation);
      const ours = transfersOn(link, '/twin').find((t) => t.message.message_annotations?.operation === operation);
      assert.ok(theirs !== undefined && ours !== undefined, operation);
      assert.deepEqual(ours.message.message_annotations, theirs.message.message_annotations, `${operation} annotations`);
      assert.match(String(ours.message.correlation_id), UUID, `${operation} correlation-id`);
      assert.match(String(theirs.message.correlation_id), UUID);
      assert.deepEqual(Object.keys(ours.message).sort(), Object.keys(theirs.message).sort(), `${operation} message sections`);
      assert.equal(ours.message.body.typecode, theirs.message.body.typecode, `${operation} body section`);
      assert.equal(ours.settled, theirs.settled);
      const text = (t: RecordedTransfer) => Buffer.from(t.message.body.content).toString('utf8');
      // The patch: the same JSON but the marker saying which run it was.
      if (operation === 'PATCH') assert.deepEqual({ ...JSON.parse(text(ours)), run: 'x' }, { ...JSON.parse(text(theirs)), run: 'x' });
      else assert.equal(text(ours), text(theirs));
    }
  });
});
