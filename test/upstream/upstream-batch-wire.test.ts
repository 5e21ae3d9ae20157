/**
 * What the upstream link puts on the wire when it batches and fans out (upstream.maxBatchSize,
 * upstream.fanOutFactor), seen by a real rhea AMQP server over TLS that answers `$cbs` and holds
 * every transfer unsettled until the test settles it: batched transfers (message-format
 * 0x80013700) of at most maxBatchSize messages, each message's settlement reported only when its
 * transfer is settled, per identity in order, and at most fanOutFactor identities with transfers
 * in flight at once.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import rhea, { type Connection, type Delivery, type EventContext, type Message, type Sender } from 'rhea';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { createLogger } from '../../src/log/index.js';
import { ensureDevCertificates } from '../../src/tls/dev-ca.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import { UpstreamCredentials } from '../../src/hub/upstream/upstream-credentials.js';
import { UpstreamLink } from '../../src/hub/upstream/upstream-link.js';
import type { DeliveryOutcome } from '../../src/hub/endpoints/index.js';
import { tempDir } from '../helpers/outpost-process.js';

const HUB = 'wirehub.azure-devices.net';
const EDGE = 'edge-w';
const BATCH_FORMAT = 0x80013700;
const MAX_BATCH = 4;
const FAN_OUT = 2;
const DEVICES = ['d0', 'd1', 'd2', 'd3', 'd4'];

interface Transfer {
  readonly address: string;
  readonly format: number;
  readonly seqs: number[];
  readonly delivery: Delivery;
}

const transfers: Transfer[] = [];
let server: { close(): void } | undefined;
let link: UpstreamLink | undefined;
const dir = tempDir('outpost-upstream-wire-');

before(async () => {
  const logger = createLogger({ level: 'silent' });
  const certs = ensureDevCertificates({ dataDir: dir.path, hostnames: ['localhost'], logger });
  const container = rhea.create_container({ id: 'wire-parent', autoaccept: false } as never);
  const cbsReply = new Map<Connection, Sender>();
  container.on('sender_open', (context: EventContext) => {
    if ((context.sender!.source as { address?: string } | undefined)?.address === '$cbs') cbsReply.set(context.connection, context.sender!);
  });
  container.on('message', (context: EventContext) => {
    const address = (context.receiver!.target as { address?: string }).address ?? '';
    const message = context.message as unknown as Message | Buffer;
    if (address === '$cbs') {
      const request = message as Message;
      context.delivery!.accept();
      cbsReply.get(context.connection)?.send({ correlation_id: request.message_id, application_properties: { 'status-code': 200, 'status-description': 'OK' }, body: '' } as Message);
      return;
    }
    const format = (context as { format?: number }).format ?? 0;
    let parts: Message[];
    if (format === BATCH_FORMAT) {
      const envelope = rhea.message.decode(message as Buffer) as unknown as { body: { content: Buffer | Buffer[]; multiple?: boolean } };
      const buffers = envelope.body.multiple === true ? (envelope.body.content as Buffer[]) : [envelope.body.content as Buffer];
      parts = buffers.map((b) => rhea.message.decode(b) as unknown as Message);
    } else parts = [message as Message];
    const seqs = parts.map((m) => Number(JSON.parse(Buffer.from((m.body as { content: Buffer }).content).toString()).seq));
    transfers.push({ address, format, seqs, delivery: context.delivery! });
  });
  const listener = container.listen({ port: 0, host: 'localhost', transport: 'tls', key: certs.keyPem, cert: certs.certPem } as never) as unknown as { address(): AddressInfo; close(): void; once(event: string, fn: () => void): void };
  await new Promise<void>((resolve) => listener.once('listening', resolve));
  server = listener;
  const registry = IdentityRegistry.open({ dataDir: join(dir.path, 'registry'), edgeDeviceId: EDGE });
  // This edge device's key signs every identity's token (on behalf of them); the devices need none here.
  registry.add({ deviceId: EDGE });
  for (const deviceId of DEVICES) registry.add({ deviceId });
  link = new UpstreamLink({
    host: 'localhost',
    port: listener.address().port,
    ca: certs.caPem,
    edgeDeviceId: EDGE,
    iotHubHostname: HUB,
    credentials: new UpstreamCredentials({ edgeDeviceId: EDGE, connectionString: undefined, registry }),
    clientVersion: 'outpost/test',
    tokenTtlMs: 3_600_000,
    reconnectMinMs: 100,
    reconnectMaxMs: 1_000,
    probeIntervalMs: 1_000,
    idleTimeoutMs: 30_000,
    maxBatchSize: MAX_BATCH,
    fanOutFactor: FAN_OUT,
    logger,
    onAvailable: () => undefined,
  });
  link.start();
  const deadline = Date.now() + 20_000;
  while (!link.connected) {
    if (Date.now() > deadline) throw new Error('the upstream link did not connect');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});

after(async () => {
  await link?.close();
  server?.close();
  dir.remove();
});

async function until(what: () => boolean, label: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('upstream batching and fan-out on the wire', () => {
  it(`sends batched transfers of at most ${MAX_BATCH} messages, settles each message with its transfer, in order, with at most ${FAN_OUT} identities in flight`, async () => {
    const perDevice = 10;
    const outcomes = new Map<string, DeliveryOutcome[]>();
    for (const deviceId of DEVICES) {
      outcomes.set(deviceId, []);
      for (let seq = 0; seq < perDevice; seq++) {
        const message: HubMessage = { source: '/messages/events', body: Buffer.from(JSON.stringify({ seq })), properties: {}, systemProperties: {}, enqueuedAtMs: Date.now() };
        assert.equal(link!.send(deviceId, undefined, message, (outcome) => outcomes.get(deviceId)!.push(outcome)), 'sent');
      }
    }
    const done = new Set<Transfer>();
    const inFlight = () => new Set(transfers.filter((t) => !done.has(t)).map((t) => t.address));
    let maxIdentities = 0;
    let settledCount = 0;
    // Settle transfers one at a time, oldest first, watching how many identities have some in flight.
    while (settledCount < DEVICES.length * perDevice) {
      await until(() => transfers.some((t) => !done.has(t)), 'a transfer to settle');
      maxIdentities = Math.max(maxIdentities, inFlight().size);
      const next = transfers.find((t) => !done.has(t))!;
      const device = next.address.split('/')[2]!;
      const before = outcomes.get(device)!.length;
      // Nothing of this transfer is acknowledged before the parent settles it.
      assert.equal(before, [...done].filter((t) => t.address === next.address).reduce((n, t) => n + t.seqs.length, 0));
      done.add(next);
      next.delivery.accept();
      settledCount += next.seqs.length;
      await until(() => outcomes.get(device)!.length === before + next.seqs.length, `the outcomes of a transfer of ${device}`);
    }
    assert.ok(maxIdentities <= FAN_OUT, `${maxIdentities} identities had transfers in flight at once (fanOutFactor ${FAN_OUT})`);
    assert.ok(maxIdentities >= 1);
    for (const deviceId of DEVICES) {
      const ofDevice = transfers.filter((t) => t.address === `/devices/${deviceId}/messages/events`);
      assert.deepEqual(ofDevice.flatMap((t) => t.seqs), [...Array(perDevice).keys()], `${deviceId} in order`);
      for (const t of ofDevice) {
        assert.ok(t.seqs.length <= MAX_BATCH, `a transfer of ${t.seqs.length} messages`);
        assert.equal(t.format, t.seqs.length > 1 ? BATCH_FORMAT : 0);
      }
      assert.ok(ofDevice.some((t) => t.format === BATCH_FORMAT), `${deviceId} was batched`);
      assert.deepEqual(outcomes.get(deviceId), Array(perDevice).fill('acked'));
    }
  });
});
