import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';

const run = promisify(execFile);
let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(() => broker.stop());

/**
 * Runs mosquitto_sub until it has printed `count` messages. Its output is block-buffered on a
 * pipe, so readiness is read from the broker: the session exists with its subscription.
 */
function mosquittoSub(clientId: string, filter: string, args: string[], count: number): { output: Promise<string>; ready: () => Promise<unknown> } {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-i', clientId, '-t', filter, '-C', String(count), '-W', '10', ...args]);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const output = new Promise<string>((resolve, reject) => {
    // 'close', not 'exit': 'exit' can come before the last of stdout is read (seen once: the
    // QoS 2 line missing from a run whose mosquitto_sub had printed all three and exited 0).
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`mosquitto_sub exited ${code}: ${stdout}`))));
  });
  output.catch(() => undefined);
  const ready = () => eventually(() => (broker.broker.session(clientId)?.subscriptions.has(filter) ? true : undefined), 5_000, 'mosquitto_sub to subscribe');
  return { output, ready };
}

const PAHO = `
import json, sys, threading
import paho.mqtt.client as mqtt
port, version, topic = int(sys.argv[1]), sys.argv[2], sys.argv[3]
proto = mqtt.MQTTv5 if version == '5' else mqtt.MQTTv311
got, done, subscribed = [], threading.Event(), threading.Event()
def on_message(c, u, m):
    got.append([m.topic, m.payload.decode(), m.qos])
    if len(got) == 3: done.set()
c = mqtt.Client(client_id='paho-' + version, protocol=proto)
c.on_message = on_message
c.on_subscribe = lambda *a: subscribed.set()
c.connect('127.0.0.1', port)
c.loop_start()
c.subscribe(topic + '/#', qos=2)
subscribed.wait(5)
for q in (0, 1, 2):
    c.publish(topic + '/q' + str(q), 'paho-' + str(q), qos=q).wait_for_publish(5)
done.wait(5)
c.disconnect(); c.loop_stop()
print(json.dumps(sorted(got)))
`;

describe('interoperability with other clients', () => {
  for (const version of ['mqttv311', 'mqttv5'] as const) {
    it(`mosquitto_pub and mosquitto_sub (${version}) exchange QoS 0, 1 and 2 and retained messages through the broker`, async () => {
      const topic = `mosq/${version}`;
      const sub = mosquittoSub(`sub-${version}`, `${topic}/#`, ['-V', version, '-q', '2', '-v'], 3);
      await sub.ready();
      for (const qos of ['0', '1', '2']) {
        await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', version, '-t', `${topic}/q${qos}`, '-q', qos, '-m', `hello-${qos}`]);
      }
      const lines = (await sub.output).trim().split('\n').sort();
      assert.deepEqual(lines, [`${topic}/q0 hello-0`, `${topic}/q1 hello-1`, `${topic}/q2 hello-2`]);

      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', version, '-t', `${topic}/state`, '-q', '1', '-r', '-m', 'kept']);
      const retained = mosquittoSub(`ret-${version}`, `${topic}/state`, ['-V', version, '-v'], 1);
      assert.equal((await retained.output).trim(), `${topic}/state kept`);
    });
  }

  for (const version of ['311', '5'] as const) {
    it(`Python paho (MQTT ${version === '5' ? '5' : '3.1.1'}) publishes and receives at every QoS`, async () => {
      const { stdout } = await run('/usr/bin/python3', ['-c', PAHO, String(broker.port), version, `paho${version}`], { timeout: 20_000 });
      assert.deepEqual(JSON.parse(stdout), [
        [`paho${version}/q0`, 'paho-0', 0],
        [`paho${version}/q1`, 'paho-1', 1],
        [`paho${version}/q2`, 'paho-2', 2],
      ]);
    });
  }

  it('mqtt.js sees what mosquitto_pub sends, with MQTT 5 user properties', async () => {
    const sub = await connectClient(broker.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('mix/#', { qos: 1 });
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv5', '-t', 'mix/a', '-q', '1', '-m', 'x', '-D', 'publish', 'user-property', 'line', '7']);
    const [got] = await sub.waitFor(1);
    assert.deepEqual({ ...got!.packet.properties?.userProperties }, { line: '7' });
    await sub.end();
  });
});
