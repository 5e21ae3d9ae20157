// encodeFrame (frames into one reused buffer) against rhea's frames.write_frame: the same bytes
// for every kind of frame the hub writes, in any order, large and small (a reused buffer must not
// leak one frame's bytes into the next).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { encodeFrame, reuseFrameBuffer } from '../../src/hub/amqp-common/frame-writer.js';
import { pick, prng } from '../native/implementations.js';

type Performative = unknown;
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as Record<string, (fields: Record<string, unknown>) => Performative> & {
  amqp_frame(channel: number | undefined, performative?: Performative, payload?: Buffer): { type: number; channel: number; performative?: Performative; payload?: Buffer };
  write_frame(frame: unknown): Buffer;
};
const message = rhea.message as unknown as { accepted(): { described(): unknown }; rejected(fields: unknown): { described(): unknown }; released(): { described(): unknown } };

function randomFrame(random: () => number): ReturnType<typeof frames.amqp_frame> {
  const channel = pick(random, [0, 1, 7, 65_535, undefined]);
  const id = Math.floor(random() * 2 ** 32);
  const performatives: Array<() => [Performative, Buffer?]> = [
    () => [frames.transfer!({ handle: pick(random, [0, 3, 300]), message_format: 0, delivery_id: id, delivery_tag: Buffer.from(String(id)), settled: random() < 0.5, more: random() < 0.3 }), Buffer.alloc(pick(random, [0, 10, 1_000, 1_100, 70_000]), Math.floor(random() * 256))],
    () => [frames.disposition!({ role: random() < 0.5, first: id, last: id + pick(random, [0, 5]), state: pick(random, [message.accepted(), message.released(), message.rejected({ error: { condition: 'amqp:internal-error', description: 'x'.repeat(pick(random, [1, 300])) } })]).described(), settled: true })],
    () => [frames.flow!({ next_incoming_id: id, incoming_window: 2048, next_outgoing_id: 5, outgoing_window: 4_294_967_295, handle: 1, delivery_count: id, link_credit: pick(random, [0, 250, 1000]), drain: random() < 0.2 })],
    () => [frames.attach!({ name: 'link-' + 'n'.repeat(pick(random, [1, 300])), handle: 2, role: true, source: { address: '/devices/d/modules/m/messages/events' }, target: { address: 'x' }, max_message_size: 262_144 })],
    () => [frames.detach!({ handle: 2, closed: true, error: { condition: 'amqp:unauthorized-access', description: 'token expired' } })],
    () => [frames.begin!({ remote_channel: 0, next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 4_294_967_295, handle_max: 4_294_967_295 })],
    () => [frames.open!({ container_id: 'DeviceGateway_x', max_frame_size: 65_536, channel_max: 65_535, idle_time_out: pick(random, [undefined, 240_000]) })],
    () => [frames.close!({ error: { condition: 'amqp:connection:forced', description: 'stopping' } })],
    () => [undefined],
  ];
  const [performative, payload] = pick(random, performatives)();
  return frames.amqp_frame(channel, performative, payload);
}

describe('AMQP frame writer against rhea', () => {
  it('writes the bytes rhea writes, for 3000 generated frames in sequence', () => {
    const random = prng(5671);
    for (let i = 0; i < 3_000; i++) {
      const frame = randomFrame(random);
      assert.equal(encodeFrame(frame).toString('hex'), frames.write_frame(frame).toString('hex'), `frame ${i}`);
    }
  });
});

describe('the frame outbox (one write per tick)', () => {
  /** A rhea connection's AMQP transport on a PassThrough, past its protocol header. */
  function outboxOn(): { transport: { header_sent: boolean; pending: unknown[]; write(socket: unknown): void }; stream: PassThrough; writes: Buffer[] } {
    const connection = rhea.create_container({ id: 'outbox-test' }).create_connection({} as never);
    const stream = new PassThrough();
    const writes: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => writes.push(chunk));
    reuseFrameBuffer(connection, stream);
    const transport = (connection as unknown as { amqp_transport: { header_sent: boolean; pending: unknown[]; write(socket: unknown): void } }).amqp_transport;
    transport.header_sent = true;
    return { transport, stream, writes };
  }
  const flow = (n: number) => frames.amqp_frame(0, frames.flow!({ next_incoming_id: n, incoming_window: 10, next_outgoing_id: 0, outgoing_window: 10 }));

  it("writes a tick's frames in one write, after what was written before them and before what is written after", async () => {
    const { transport, stream, writes } = outboxOn();
    transport.pending = [flow(1), flow(2)];
    transport.write(stream);
    transport.pending = [flow(3)];
    transport.write(stream);
    stream.write(Buffer.from('after'));
    await new Promise((resolve) => setImmediate(resolve));
    const expected = Buffer.concat([flow(1), flow(2), flow(3)].map((f) => frames.write_frame(f)));
    assert.deepEqual(writes.map((w) => w.toString('hex')), [expected.toString('hex'), Buffer.from('after').toString('hex')]);
  });

  it('sends nothing of a frame that cannot be encoded, and the frames around it intact', async () => {
    const { transport, stream, writes } = outboxOn();
    // A frame type the AMQP transport does not carry: encoding throws after its first bytes.
    transport.pending = [flow(1), { type: 0x01, channel: 0 }];
    assert.throws(() => transport.write(stream), /unexpected frame type/);
    transport.pending.push(flow(2));
    transport.write(stream);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(Buffer.concat(writes).toString('hex'), Buffer.concat([flow(1), flow(2)].map((f) => frames.write_frame(f))).toString('hex'));
  });
});
