/**
 * Issue 19: `outpost check` probes the hub running on its data directory (each enabled port, with
 * a TLS handshake), says "not running" otherwise and checks that each port can be bound, and
 * reports a data directory held by another process (the data-dir lock of src/fs).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpostJson, startHub, testScope, type HubPorts, type OutpostProcess } from '../helpers/outpost-process.js';

const scope = testScope('outpost-check-hub-', after);
const PORTS = ['--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'];

// any: the JSON report as printed.
function checkOf(json: any, id: string): { status: string; message: string; hint?: string; details?: string[] } {
  const found = json.checks.find((c: { id: string }) => c.id === id);
  assert.ok(found !== undefined, `no check ${id} in ${JSON.stringify(json)}`);
  return found;
}

describe('outpost check with a hub running on the data directory', () => {
  let dir: string;
  let data: string;
  let hub: OutpostProcess;
  let ports: HubPorts;
  before(async () => {
    dir = scope.newDir();
    data = join(dir, 'data');
    writeFileSync(join(dir, 'deployment.json'), hubManifest({}));
    ({ outpost: hub, ports } = await startHub({ dataDir: data, args: ['--deployment', join(dir, 'deployment.json'), '--mqtt-plain-port', '0', '--set', 'amqp.enabled=false'], timeoutMs: 60_000 }));
    scope.track(hub);
  });

  it('connects to every port the hub bound (TLS handshake on TLS ports) and names the hub holding the data directory', async () => {
    const { code, json } = await runOutpostJson(['check', '-o', 'json', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), ...PORTS, '--mqtt-plain-port', '0', '--set', 'amqp.enabled=false'], { timeoutMs: 60_000 });
    const probed = checkOf(json, 'hub-ports');
    assert.equal(probed.status, 'pass', JSON.stringify(probed));
    assert.match(probed.message, new RegExp(`hub \\(process ${hub.child.pid}\\) answers on 3 port\\(s\\)`));
    const details = probed.details!.join('\n');
    assert.match(details, new RegExp(`pass: MQTT \\(TLS\\) 127\\.0\\.0\\.1:${ports.mqtt}: TLS handshake completed`));
    assert.equal(ports.amqp, null);
    assert.match(details, new RegExp(`pass: HTTPS/WebSocket 127\\.0\\.0\\.1:${ports.https}: TLS handshake completed`));
    assert.match(details, new RegExp(`pass: MQTT \\(plain\\) 127\\.0\\.0\\.1:${ports.mqttPlain}: connected`));
    const lock = checkOf(json, 'data-dir-lock');
    assert.equal(lock.status, 'pass');
    assert.match(lock.message, new RegExp(`held by the hub serving it: process ${hub.child.pid} \\(outpost hub, started `));
    // The development certificates the hub generated are checked too.
    assert.equal(checkOf(json, 'certificates').status, 'pass');
    assert.equal(code, 0);
  });

  it('fails a listener the configuration enables but the running hub does not have; says "not running" once it stopped', async () => {
    const { code, json } = await runOutpostJson(['check', '-o', 'json', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), ...PORTS], { timeoutMs: 60_000 });
    const probed = checkOf(json, 'hub-ports');
    assert.equal(probed.status, 'fail');
    assert.match(probed.details!.join('\n'), /fail: AMQP \(TLS\): enabled in the configuration, but the running hub has no such listener/);
    assert.equal(code, 2);
    // Stop the hub: the same check now says "not running".
    hub.child.kill('SIGTERM');
    await hub.exited(60_000);
    const stopped = await runOutpostJson(['check', '-o', 'json', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), ...PORTS], { timeoutMs: 60_000 });
    assert.match(checkOf(stopped.json, 'hub-ports').message, /^not running; 3 port\(s\) free to bind/);
    assert.equal(checkOf(stopped.json, 'data-dir-lock').status, 'pass');
    assert.match(checkOf(stopped.json, 'data-dir-lock').message, /is free/);
  });
});

describe('outpost check without a hub', () => {
  let dir: string;
  let taken: Server;
  let sleeper: ReturnType<typeof spawn> | undefined;
  before(async () => {
    dir = scope.newDir();
    writeFileSync(join(dir, 'deployment.json'), hubManifest({}));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  });
  after(async () => {
    sleeper?.kill('SIGKILL');
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  });

  it('fails a configured port that another program holds (EADDRINUSE)', async () => {
    const port = (taken.address() as AddressInfo).port;
    const { code, json } = await runOutpostJson(['check', '-o', 'json', '--data-dir', join(dir, 'data'), '--deployment', join(dir, 'deployment.json'), '--mqtt-port', String(port), '--set', 'mqtt.host=127.0.0.1', '--amqp-port', '0', '--https-port', '0']);
    const check = checkOf(json, 'hub-ports');
    assert.equal(check.status, 'fail');
    assert.match(check.details!.join('\n'), new RegExp(`fail: MQTT \\(TLS\\) 127\\.0\\.0\\.1:${port}: in use by another program \\(EADDRINUSE\\)`));
    assert.match(check.hint!, /mqtt\.port/);
    assert.equal(code, 2);
  });

  it('fails a data directory whose lock a live process holds that is not its hub, naming the process', async () => {
    const data = join(dir, 'locked');
    mkdirSync(data);
    // A live process that is not a hub holds the lock, as a hung hub or a second tool would.
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(join(data, 'hub.lock'), `${JSON.stringify({ pid: sleeper.pid, command: 'run', startedAt: '2026-01-01T00:00:00.000Z' })}\n`);
    const { code, json } = await runOutpostJson(['check', '-o', 'json', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), ...PORTS]);
    const lock = checkOf(json, 'data-dir-lock');
    assert.equal(lock.status, 'fail');
    assert.match(lock.message, new RegExp(`is in use by process ${sleeper.pid} \\(outpost run, started 2026-01-01T00:00:00.000Z\\), which does not answer as its hub`));
    assert.match(lock.hint!, /stop that process/);
    assert.equal(code, 2);
    // Once that process is gone the lock is stale, and a hub would take it over.
    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper!.once('exit', resolve));
    const after = await runOutpostJson(['check', '-o', 'json', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), ...PORTS]);
    assert.equal(checkOf(after.json, 'data-dir-lock').status, 'pass');
  });
});
