// micro-amqp-codec — the AMQP transport's per-message codec work on one core, no broker (a
// 'local' scenario): the hand-written paths the hub uses against rhea's, in the same run.
//
// 1,024 fixed-seed messages shaped like `amqp-routed`'s (256-byte body; inbound: a header, the
// application property `iothub-outputname`, one Data section; outbound: the module input of the
// routed HubMessage with its connection ids, enqueued time and input name). Variants:
//   encodeModuleInput   module-input-encoder.ts (the hub's) vs rhea-encode: rhea.message.encode(moduleInputMessage(...))
//   decodeMessage       message-decoder.ts (the hub's, then toHubMessage) vs rhea-decode (rhea.message.decode, then toHubMessage)
//   encodeFrame         the transfer performative by fast-frames.ts and the frame by frame-writer.ts (the
//                       hub's) vs rhea-write-frame: rhea's frames.transfer, then frames.write_frame
// Ratios: encodeVsRhea, decodeVsRhea, frameVsRhea (> 1: the hub's is faster).
// Run: npm run bench -- micro-amqp-codec [--quick]
import { createRequire } from 'node:module';
import rhea, { type Message } from 'rhea';
import { SystemProperty, type HubMessage } from '../../src/hub/message/index.js';
import { moduleInputMessage, toHubMessage } from '../../src/hub/transport/amqp/amqp-message.js';
import { encodeFrame, installFastFrames } from '../../src/hub/amqp-common/index.js';
import { decodeMessage } from '../../src/hub/transport/amqp/message-decoder.js';
import { encodeModuleInput } from '../../src/hub/transport/amqp/module-input-encoder.js';
import { consume, measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import { mulberry32 } from '../loadgen/prng.js';
import type { LocalScenario } from './scenario.js';

const MESSAGES = 1_024;
const BODY_BYTES = 256;
const SENDER = { deviceId: 'bench-edge', moduleId: 'pub-0' };

interface RheaFrames {
  transfer(fields: Record<string, unknown>): unknown;
  amqp_frame(channel: number, performative: unknown, payload: Buffer): unknown;
  write_frame(frame: unknown): Buffer;
}
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as RheaFrames;
// rhea's own, before installFastFrames puts the hub's in front of it.
const rheaTransfer = frames.transfer;

export const microAmqpCodec: LocalScenario = {
  kind: 'local',
  name: 'micro-amqp-codec',
  description: 'AMQP module-input encode, telemetry decode, transfer-frame write: the hub\'s vs rhea\'s, messages/s',
  async run(options) {
    const random = mulberry32(options.seed);
    const inbound: Buffer[] = [];
    const routed: HubMessage[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const body = Buffer.alloc(BODY_BYTES);
      for (let j = 0; j < BODY_BYTES; j++) body[j] = Math.floor(random() * 256);
      inbound.push(rhea.message.encode({ durable: false, application_properties: { 'iothub-outputname': 'out' }, body: rhea.message.data_section(body) } as unknown as Message));
      routed.push(toHubMessage(SENDER, rhea.message.decode(inbound[i]!) as unknown as Message, 1_764_800_000_000 + i, 'bench-edge'));
    }
    installFastFrames();
    const payloads = routed.map((m) => encodeModuleInput('input1', m));
    const fields = (i: number) => ({ handle: 0, message_format: 0, delivery_id: i, delivery_tag: Buffer.from(String(i)), settled: false, more: false });
    // What Outgoing.process builds for each module input, and what is written: the hub's, then rhea's.
    const hubFrame = (i: number) => encodeFrame(frames.amqp_frame(1, frames.transfer(fields(i)), payloads[i]!) as never);
    const rheaFrame = (i: number) => frames.write_frame(frames.amqp_frame(1, rheaTransfer(fields(i)), payloads[i]!));
    // Both sides of each pair must agree before anything is timed.
    for (let i = 0; i < MESSAGES; i++) {
      if (!encodeModuleInput('input1', routed[i]!).equals(rhea.message.encode(moduleInputMessage('input1', routed[i]!)))) throw new Error('encodeModuleInput differs from rhea');
      if (decodeMessage(inbound[i]!) === undefined) throw new Error('decodeMessage left a bench message to rhea');
      if (!hubFrame(i).equals(rheaFrame(i))) throw new Error('encodeFrame differs from rhea');
    }
    const pass = (each: (i: number) => number) => (): number => {
      for (let i = 0; i < MESSAGES; i++) consume(each(i));
      return MESSAGES;
    };
    const variants: VariantSpec[] = [
      { name: 'encodeModuleInput', what: 'module input encoded by module-input-encoder.ts (the hub)', unit: 'messages', pass: pass((i) => encodeModuleInput('input1', routed[i]!).length) },
      { name: 'rhea-encode', what: "rhea.message.encode(moduleInputMessage(...)) (before)", unit: 'messages', pass: pass((i) => rhea.message.encode(moduleInputMessage('input1', routed[i]!)).length) },
      { name: 'decodeMessage', what: 'message-decoder.ts then toHubMessage (the hub)', unit: 'messages', pass: pass((i) => toHubMessage(SENDER, decodeMessage(inbound[i]!)!, 1, 'bench-edge').body.length) },
      { name: 'rhea-decode', what: 'rhea.message.decode then toHubMessage (before)', unit: 'messages', pass: pass((i) => toHubMessage(SENDER, rhea.message.decode(inbound[i]!) as unknown as Message, 1, 'bench-edge').body.length) },
      { name: 'encodeFrame', what: 'transfer performative by fast-frames.ts, frame by frame-writer.ts (the hub)', unit: 'messages', pass: pass((i) => hubFrame(i).length) },
      { name: 'rhea-write-frame', what: "rhea's frames.transfer and frames.write_frame (before)", unit: 'messages', pass: pass((i) => rheaFrame(i).length) },
    ];
    const timing = microTiming(options);
    const measured = await measureVariants(variants, timing, 'encodeModuleInput');
    return microOutcome({
      params: { messages: MESSAGES, bodyBytes: BODY_BYTES, seed: options.seed },
      variants: measured,
      headline: 'encodeModuleInput',
      timing,
      ratios: [
        ['encodeVsRhea', 'encodeModuleInput', 'rhea-encode'],
        ['decodeVsRhea', 'decodeMessage', 'rhea-decode'],
        ['frameVsRhea', 'encodeFrame', 'rhea-write-frame'],
      ],
    });
  },
};
