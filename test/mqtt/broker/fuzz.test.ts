import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { after, describe, it } from 'node:test';
import { startHub, stopQuietly, tempDir, type OutpostProcess } from '../../helpers/outpost-process.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';

/**
 * Feeds random and mutated packets to a running hub (a child process, so a crash shows) for a
 * bounded time, then checks it is alive, still serves a well-behaved client, and its memory grew
 * by less than a bound.
 */

const FUZZ_MS = Number(process.env.FUZZ_MS ?? 6_000);
const PARALLEL = 16;
/**
 * V8 keeps the heap pages a burst needed, so RSS after one burst says little. A first round warms
 * the process up to its working size; a leak then shows as further growth in the second round.
 */
const RSS_GROWTH_LIMIT_BYTES = 96 * 1024 * 1024;
/** After a forced GC the live heap must not keep what fuzzed connections allocated. */
const HEAP_GROWTH_LIMIT_BYTES = 8 * 1024 * 1024;

let outpost: OutpostProcess | undefined;
const dir = tempDir('outpost-fuzz-');
after(async () => {
  await stopQuietly(outpost);
  dir.remove();
});

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed with the same seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function templates(version: 4 | 5): Buffer[] {
  const g = (p: Parameters<typeof mqttPacket.generate>[0]) => mqttPacket.generate(p, { protocolVersion: version });
  return [
    g({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: 'fz', clean: true, keepalive: 30, will: { topic: 'fz/w', payload: Buffer.from('w'), qos: 1, retain: false } }),
    g({ cmd: 'publish', topic: 'fz/a/b', payload: Buffer.from('payload'), qos: 1, messageId: 3, dup: false, retain: true }),
    g({ cmd: 'publish', topic: 'fz/q2', payload: Buffer.from('p2'), qos: 2, messageId: 4, dup: false, retain: false }),
    g({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'fz/#', qos: 2 }, { topic: '$share/g/fz/+', qos: 1 }] }),
    g({ cmd: 'unsubscribe', messageId: 6, unsubscriptions: ['fz/#'] }),
    g({ cmd: 'puback', messageId: 1 }),
    g({ cmd: 'pubrel', messageId: 4 }),
    g({ cmd: 'pingreq' }),
    g({ cmd: 'disconnect' }),
    ...(version === 5 ? [g({ cmd: 'publish', topic: 'fz/p', payload: Buffer.from('p'), qos: 1, messageId: 7, dup: false, retain: true, properties: { contentType: 'text/plain', responseTopic: 'fz/r', correlationData: Buffer.from('c'), userProperties: { k: 'v' } } })] : []),
  ];
}

/** Sends each truncated-property PUBLISH on its own MQTT 5 connection and waits for the hub to close it. */
async function sendTruncated(port: number): Promise<void> {
  for (const bad of TRUNCATED) {
    const answer = await new Promise<Buffer>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      const chunks: Buffer[] = [];
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const timer = setTimeout(() => socket.destroy(), 5_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      socket.once('connect', () => socket.write(Buffer.concat([CONNECT_V5, bad])));
    });
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const got: string[] = [];
    parser.on('packet', (p: mqttPacket.Packet) => got.push(p.cmd === 'disconnect' ? `disconnect ${p.reasonCode}` : p.cmd));
    parser.parse(answer);
    assert.deepEqual(got, ['connack', 'disconnect 129'], `a truncated property got ${answer.toString('hex')} (DISCONNECT 0x81 Malformed Packet expected)`);
  }
}

/** An MQTT 5 subscriber to everything the fuzzing publishes, for the whole run: a message that cannot be encoded for it shows as an error line. */
function rawSubscriberV5(port: number): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('data', () => undefined);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'fz-watch', clean: true, keepalive: 0 }, { protocolVersion: 5 }));
      socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fz/#', qos: 0 }] }, { protocolVersion: 5 }));
      resolve(() => socket.destroy());
    });
  });
}

/**
 * PUBLISHes whose properties claim more bytes than they have, each one mqtt-packet alone accepts
 * (a user property read as null, values running into the payload, retained): sent on their own
 * connections every round, not left to chance, and mixed into the random stream of MQTT 5 ones.
 */
function truncatedProperties(): Buffer[] {
  const cases = [
    [{ userProperties: { MARKER: 'v' } }, 20],
    [{ responseTopic: 'MARKER' }, 10],
    [{ correlationData: Buffer.from('MARKER') }, 10],
    [{ contentType: 'MARKER' }, 10],
  ] as const;
  return cases.map(([properties, claim], i) => {
    const bytes = mqttPacket.generate({ cmd: 'publish', topic: `fz/props/${i}`, payload: Buffer.from('payload bytes'), qos: 1, messageId: 9, dup: false, retain: true, properties }, { protocolVersion: 5 });
    bytes.writeUInt16BE(claim, bytes.indexOf('MARKER') - 2);
    return bytes;
  });
}
const TRUNCATED = truncatedProperties();
const CONNECT_V5 = templates(5)[0]!;

function mutate(random: () => number, packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  switch (Math.floor(random() * 5)) {
    case 0: // flip a few bytes
      for (let i = 0; i < 1 + random() * 3; i++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      return copy;
    case 1: // truncate
      return copy.subarray(0, Math.floor(random() * copy.length));
    case 2: // random bytes
      return Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    case 3: // claim a huge remaining length
      return Buffer.concat([copy.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, 0x7f]), copy.subarray(2)]);
    default: // unchanged
      return copy;
  }
}

async function fuzzConnection(port: number, random: () => number, untilMs: number): Promise<void> {
  const version = random() < 0.5 ? 4 : 5;
  const packets = templates(version);
  await new Promise<void>((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 300 + random() * 700);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect', () => {
      // Mostly start with a valid CONNECT so the fuzzing reaches the connected state.
      if (random() < 0.8) socket.write(packets[0]!);
      const count = 1 + Math.floor(random() * 12);
      for (let i = 0; i < count && Date.now() < untilMs; i++) {
        if (version === 5 && random() < 0.05) {
          socket.write(TRUNCATED[Math.floor(random() * TRUNCATED.length)]!);
          continue;
        }
        const template = packets[Math.floor(random() * packets.length)]!;
        socket.write(random() < 0.6 ? mutate(random, template) : template);
      }
    });
  });
}

describe('fuzzing a running broker', () => {
  it(`survives ${FUZZ_MS} ms of random and mutated packets without a crash, a hang or a leak`, async () => {
    const started = await startHub({ dataDir: dir.path, args: ['--allow-anonymous', '--mqtt-plain-port', '0', '--log-level', 'info', '--set', 'mqtt.maxQueuedMessages=100'] });
    outpost = started.outpost;
    const port = started.ports.mqttPlain!;
    const pid = outpost.child.pid!;
    const random = prng(20261124);
    let connections = 0;
    const stopWatching = await rawSubscriberV5(port);
    const round = async (durationMs: number) => {
      await sendTruncated(port);
      const untilMs = Date.now() + durationMs;
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (Date.now() < untilMs) {
            await fuzzConnection(port, random, untilMs);
            connections += 1;
          }
        }),
      );
    };
    await round(FUZZ_MS / 2);
    const baseline = rssBytes(pid);
    await round(FUZZ_MS);
    stopWatching();
    assert.equal(outpost.child.exitCode, null, `the hub exited: ${outpost.stderr()} ${JSON.stringify(outpost.lines.filter((l) => l.level === "fatal" || l.level === "error"))}`);
    assert.ok(connections > 50, `only ${connections} fuzz connections ran`);

    const sub = await connectClient(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 }).catch((error: unknown) => {
      throw new Error(`${String(error)}; last hub lines: ${JSON.stringify(outpost!.lines.filter((l) => l.event !== "mqtt.protocol_error").slice(-6))}`);
    });
    await sub.client.subscribeAsync('after/fuzz', { qos: 1 });
    const pub = await connectClient(`mqtt://127.0.0.1:${port}`);
    await pub.client.publishAsync('after/fuzz', 'ok', { qos: 1 });
    assert.equal((await sub.waitFor(1))[0]!.payload, 'ok');
    await Promise.all([sub.end(), pub.end()]);

    const growth = rssBytes(pid) - baseline;
    assert.ok(growth < RSS_GROWTH_LIMIT_BYTES, `RSS grew by ${Math.round(growth / 1024 / 1024)} MiB`);
    const fatal = outpost.lines.filter((l) => l.level === 'fatal' || l.level === 'error');
    assert.deepEqual(fatal, []);
  });

  it('keeps no live heap from fuzzed connections once they are gone (in-process, after a forced GC)', async () => {
    // Expose gc() in this test process only; the broker below is the real one, in-process.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const broker = await startTestBroker({ maxQueued: 100 });
    const random = prng(7);
    const round = async (durationMs: number) => {
      const untilMs = Date.now() + durationMs;
      await Promise.all(Array.from({ length: PARALLEL }, async () => {
        while (Date.now() < untilMs) await fuzzConnection(broker.port, random, untilMs);
      }));
      // Let the last closes and timers settle before measuring.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      gc();
    };
    await round(FUZZ_MS / 3);
    const baseline = process.memoryUsage().heapUsed;
    await round(FUZZ_MS / 2);
    const growth = process.memoryUsage().heapUsed - baseline;
    assert.equal(broker.adapter.connectionCount, 0);
    await broker.stop();
    assert.ok(growth < HEAP_GROWTH_LIMIT_BYTES, `live heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB`);
  });
});
