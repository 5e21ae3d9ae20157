// micro-codec — PUBLISH decoding and encoding on one core, no broker (a 'local' scenario).
//
// Measures packets/s over a fixed-seed MQTT 3.1.1 stream of 4,096 PUBLISHes (3-6 topic levels,
// 64-byte payloads and every 8th 1 KiB, a quarter QoS 1) in chunks of 64 packets, as the broker
// scenarios' publishers write them. Decoding variants each end with the packet object the connection
// dispatches (topic string, zero-copy payload view):
//   framer+decodePublish  the hub's path: PacketFramer then the hand-written decodePublish (headline)
//   scan-ts               src/native/packet-scan.ts: a whole chunk per call into an Int32Array
//   scan-native           the same interface in the N-API addon (when it is built)
//   scan-ts-offsets, scan-native-offsets  the scan alone, no objects: the native function's own figure
//   mqtt-packet           mqtt-packet's streaming parser (the reference implementation)
// and encoding: encodePublishHeader (the hub's; the payload is written separately, never copied)
// vs mqtt-packet's generate. Ratios in the JSON: decodeVsMqttPacket, encodeVsMqttPacket,
// nativeScanSpeedup (offsets), nativeDecodeSpeedup (whole decode).
// Run: npm run bench -- micro-codec [--quick]   (OUTPOST_NATIVE=off leaves the addon out)
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { encodePublishHeader } from '../../src/hub/transport/mqtt/publish-codec.js';
import { loadNative, scanPacketsTs } from '../../src/native/index.js';
import { benchNativeMode, consume, measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import { chunksOf, decodeWithFramer, decodeWithScanner, encodeStream, makePublishes, PROTOCOL_VERSION, scanOutput } from '../micro/publish-stream.js';
import type { LocalScenario } from './scenario.js';

const PACKETS = 4_096;
const PER_CHUNK = 64;
/** Records per scan call: a whole chunk. */
const SCAN_CAPACITY = 128;

export const microCodec: LocalScenario = {
  kind: 'local',
  name: 'micro-codec',
  description: 'PUBLISH decode (framer+decodePublish, batch scan TS/native) and encode vs mqtt-packet: packets/s',
  async run(options) {
    const publishes = makePublishes(options.seed, PACKETS);
    const stream = encodeStream(publishes);
    const chunks = chunksOf(publishes, PER_CHUNK);
    const native = loadNative(benchNativeMode());
    const out = scanOutput(SCAN_CAPACITY);
    const visit = (p: IPublishPacket): void => consume(p.topic.length + p.payload.length);

    // Every variant must see the same packets: check before timing anything.
    const expected = decodeWithFramer(chunks, visit);
    if (expected !== PACKETS) throw new Error(`framer decoded ${expected} of ${PACKETS} packets`);

    const parser = mqttPacket.parser({ protocolVersion: PROTOCOL_VERSION });
    let parsed = 0;
    parser.on('packet', (p: Packet) => {
      parsed += 1;
      if (p.cmd === 'publish') consume(p.topic.length);
    });
    parser.on('error', (error: Error) => {
      throw error;
    });

    const variants: VariantSpec[] = [
      { name: 'framer+decodePublish', what: 'PacketFramer + decodePublish, a packet per call (the hub today)', unit: 'packets', pass: () => decodeWithFramer(chunks, visit) },
      { name: 'scan-ts', what: 'scanPackets (TypeScript), a chunk per call, then the packet objects', unit: 'packets', pass: () => decodeWithScanner(scanPacketsTs, out, chunks, visit) },
      { name: 'scan-ts-offsets', what: 'scanPackets (TypeScript), offsets only', unit: 'packets', pass: () => decodeWithScanner(scanPacketsTs, out, chunks, undefined) },
    ];
    if (native.implementation === 'native') {
      variants.push(
        { name: 'scan-native', what: 'scanPackets (N-API addon), a chunk per call, then the packet objects', unit: 'packets', pass: () => decodeWithScanner(native.scanPackets, out, chunks, visit) },
        { name: 'scan-native-offsets', what: 'scanPackets (N-API addon), offsets only', unit: 'packets', pass: () => decodeWithScanner(native.scanPackets, out, chunks, undefined) },
      );
      if (decodeWithScanner(native.scanPackets, out, chunks, visit) !== PACKETS) throw new Error('native scan disagrees on the packet count');
    }
    variants.push(
      {
        name: 'mqtt-packet',
        what: "mqtt-packet's streaming parser",
        unit: 'packets',
        pass: () => {
          parsed = 0;
          for (const chunk of chunks) parser.parse(chunk);
          return parsed;
        },
      },
      {
        name: 'encodePublishHeader',
        what: 'the hub\'s PUBLISH encoder (header only; the payload is written as it is)',
        unit: 'packets',
        pass: () => {
          for (const p of publishes) consume(encodePublishHeader(p.topic, p.payload.length, p.qos, false, false, p.messageId, PROTOCOL_VERSION).length);
          return publishes.length;
        },
      },
      {
        name: 'mqtt-packet-generate',
        what: "mqtt-packet's generate (header and payload in one buffer)",
        unit: 'packets',
        pass: () => {
          for (const p of publishes) consume(mqttPacket.generate({ cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, dup: false, retain: false, messageId: p.messageId }, { protocolVersion: PROTOCOL_VERSION }).length);
          return publishes.length;
        },
      },
    );
    const timing = microTiming(options);
    const measured = await measureVariants(variants, timing, 'framer+decodePublish');
    return microOutcome({
      params: { packets: PACKETS, packetsPerChunk: PER_CHUNK, streamBytes: stream.length, protocolVersion: PROTOCOL_VERSION, seed: options.seed, native: native.implementation },
      variants: measured,
      headline: 'framer+decodePublish',
      timing,
      ratios: [
        ['decodeVsMqttPacket', 'framer+decodePublish', 'mqtt-packet'],
        ['encodeVsMqttPacket', 'encodePublishHeader', 'mqtt-packet-generate'],
        ['scanTsVsFramer', 'scan-ts', 'framer+decodePublish'],
        ['nativeScanSpeedup', 'scan-native-offsets', 'scan-ts-offsets'],
        ['nativeDecodeSpeedup', 'scan-native', 'scan-ts'],
      ],
      warnings: native.implementation === 'native' ? [] : [`native addon not measured: ${native.reason ?? ''}`],
    });
  },
};
