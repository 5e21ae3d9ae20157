/**
 * Issue 19: `outpost check` catches each broken setting with pass/warn/fail and a hint, as
 * `iotedge check` does: expired and near-expiry certificates, an unreachable container engine,
 * too little disk for the store; `--output json` and `--warnings-as-errors`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runOutpost, runOutpostJson, testScope } from '../helpers/outpost-process.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { startPodman, type PodmanEngine } from '../agent/docker/podman-engine.js';
import { issueCertificate } from '../../src/tls/index.js';

const scope = testScope('outpost-check-settings-', after);
const DAY_MS = 24 * 60 * 60 * 1000;
/** Ephemeral ports: these tests are about other checks, and must not depend on 8883 being free. */
const PORTS = ['--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'];

// any: the JSON report as printed.
function checkOf(json: any, id: string): { status: string; message: string; hint?: string; details?: string[] } {
  const found = json.checks.find((c: { id: string }) => c.id === id);
  assert.ok(found !== undefined, `no check ${id} in ${JSON.stringify(json)}`);
  return found;
}

/** A server certificate and key valid from `fromDays` to `toDays` from now (negative: in the past). */
function certificateFiles(dir: string, name: string, fromDays: number, toDays: number): { certFile: string; keyFile: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const pem = issueCertificate({ subject: { commonName: name }, publicKey, signingKey: privateKey, issuer: 'self', notBefore: new Date(now + fromDays * DAY_MS), notAfter: new Date(now + toDays * DAY_MS), subjectAltNames: { dns: ['localhost'] } });
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key.pem`);
  writeFileSync(certFile, pem);
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { certFile, keyFile };
}

describe('outpost check: certificates', () => {
  let dir: string;
  let deployment: string;
  before(() => {
    dir = scope.newDir();
    deployment = join(dir, 'deployment.json');
    writeFileSync(deployment, hubManifest({ up: 'FROM /messages/* INTO $upstream' }));
  });
  const check = (files: { certFile: string; keyFile: string }, extra: string[] = []) =>
    runOutpostJson(['check', '-o', 'json', '--data-dir', join(dir, 'data'), '--deployment', deployment, ...PORTS, '--set', `tls.certFile=${files.certFile}`, '--set', `tls.keyFile=${files.keyFile}`, ...extra]);

  it('fails an expired server certificate, naming the file and the date, exit 2', async () => {
    const files = certificateFiles(dir, 'expired', -400, -2);
    const { code, json } = await check(files);
    const cert = checkOf(json, 'certificates');
    assert.equal(cert.status, 'fail');
    assert.match(cert.details!.join('\n'), new RegExp(`fail: server certificate \\(tls.certFile\\) ${files.certFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: expired on `));
    assert.match(cert.hint!, /replace the files named/);
    assert.equal(json.result, 'fail');
    assert.equal(code, 2);
  });

  it('warns about a certificate expiring within 30 days (exit 0), and --warnings-as-errors makes it exit 2', async () => {
    const files = certificateFiles(dir, 'soon', -300, 10);
    const { code, json } = await check(files);
    const cert = checkOf(json, 'certificates');
    assert.equal(cert.status, 'warn', JSON.stringify(cert));
    assert.match(cert.details!.join('\n'), /warn: server certificate .*soon\.pem: expires in (9|10) day\(s\)/);
    assert.equal(json.counts.fail, 0, JSON.stringify(json.checks.filter((c: { status: string }) => c.status === 'fail')));
    assert.equal(code, 0);
    const strict = await check(files, ['--warnings-as-errors']);
    assert.equal(strict.code, 2);
    const text = await runOutpost(['check', '--data-dir', join(dir, 'data'), '--deployment', deployment, ...PORTS, '--set', `tls.certFile=${files.certFile}`, '--set', `tls.keyFile=${files.keyFile}`]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /\[WARN\] TLS certificates present and not expiring: 1 certificate\(s\) expire within 30 days\n {2}warn: .*\n {2}hint: /);
  });

  it('passes a certificate valid for a year, and fails a key that is not the certificate\'s', async () => {
    const good = certificateFiles(dir, 'good', -1, 365);
    const passed = await check(good);
    assert.equal(checkOf(passed.json, 'certificates').status, 'pass');
    const other = certificateFiles(dir, 'other', -1, 365);
    const mismatched = await check({ certFile: good.certFile, keyFile: other.keyFile });
    assert.equal(checkOf(mismatched.json, 'certificates').status, 'fail');
    assert.match(checkOf(mismatched.json, 'certificates').details!.join('\n'), /the key .*other\.key\.pem does not belong to the certificate/);
  });
});

describe('outpost check: container engine', () => {
  let dir: string;
  let engine: PodmanEngine | undefined;
  before(async () => {
    dir = scope.newDir();
    writeFileSync(join(dir, 'deployment.json'), hubManifest({}));
  });
  after(async () => engine?.stop());

  it('fails when agent.runtime=docker and the engine socket does not answer, with the socket and a hint', async () => {
    const socket = join(dir, 'no-engine.sock');
    const { code, json } = await runOutpostJson(['check', '-o', 'json', '--data-dir', join(dir, 'data'), '--deployment', join(dir, 'deployment.json'), ...PORTS, '--runtime', 'docker', '--set', `agent.dockerSocket=${socket}`]);
    const engineCheck = checkOf(json, 'container-engine');
    assert.equal(engineCheck.status, 'fail');
    assert.match(engineCheck.message, new RegExp(`${socket.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ENOENT`));
    assert.match(engineCheck.hint!, /agent\.dockerSocket/);
    assert.equal(code, 2);
  });

  it('passes with a real engine (podman\'s Docker API), and is skipped under the process runtime', async () => {
    engine = await startPodman();
    const { json } = await runOutpostJson(['check', '-o', 'json', '--data-dir', join(dir, 'data'), '--deployment', join(dir, 'deployment.json'), ...PORTS, '--runtime', 'docker', '--set', `agent.dockerSocket=${engine.socketPath}`]);
    assert.equal(checkOf(json, 'container-engine').status, 'pass', JSON.stringify(checkOf(json, 'container-engine')));
    const processRuntime = await runOutpostJson(['check', '-o', 'json', '--data-dir', join(dir, 'data'), '--deployment', join(dir, 'deployment.json'), ...PORTS, '--runtime', 'process']);
    assert.equal(checkOf(processRuntime.json, 'container-engine').status, 'skip');
  });
});

describe('outpost check: disk space for the store', () => {
  let disk: Tmpfs;
  let dir: string;
  before(() => {
    dir = scope.newDir();
    writeFileSync(join(dir, 'deployment.json'), hubManifest({}));
    disk = mountTmpfs(16 * 1024 * 1024, 'outpost-check-disk-');
  });
  after(() => disk.remove());
  const check = (minFreeDisk: string) =>
    runOutpostJson(['check', '-o', 'json', '--data-dir', join(disk.path, 'data'), '--deployment', join(dir, 'deployment.json'), ...PORTS, '--set', `store.minFreeDisk=${minFreeDisk}`]);

  it('fails when the store\'s file system has less than store.minFreeDisk free, warns under twice that, passes above', async () => {
    const failed = await check('128MiB');
    const disk128 = checkOf(failed.json, 'store-disk-space');
    assert.equal(disk128.status, 'fail');
    assert.match(disk128.message, /1[56]\.\d MiB free under .*store.minFreeDisk 128\.0 MiB: the hub would refuse new messages/);
    assert.match(disk128.hint!, /store\.dir/);
    assert.equal(failed.code, 2);
    assert.equal(checkOf((await check('10MiB')).json, 'store-disk-space').status, 'warn');
    assert.equal(checkOf((await check('1MiB')).json, 'store-disk-space').status, 'pass');
  });
});

describe('outpost check --output json', () => {
  it('prints one object: version, result, counts, and every check with id, title, status, message (hint on warn and fail)', async () => {
    const dir = scope.newDir();
    writeFileSync(join(dir, 'deployment.json'), hubManifest({ up: 'FROM /messages/* INTO $upstream' }));
    const { code, json } = await runOutpostJson(['check', '--output', 'json', '--data-dir', join(dir, 'data'), '--deployment', join(dir, 'deployment.json'), ...PORTS]);
    assert.equal(code, 0);
    assert.deepEqual(Object.keys(json).sort(), ['checkedAt', 'checks', 'counts', 'outpost', 'result']);
    assert.equal(json.result, 'pass');
    const ids = json.checks.map((c: { id: string }) => c.id);
    assert.deepEqual(ids, ['config-well-formed', 'deployment-valid', 'routes', 'authorization-policy', 'certificates', 'hub-ports', 'data-dir-lock', 'container-engine', 'store-disk-space', 'clock', 'upstream']);
    for (const c of json.checks) {
      assert.ok(['pass', 'warn', 'fail', 'skip'].includes(c.status), JSON.stringify(c));
      assert.equal(typeof c.title, 'string');
      assert.equal(typeof c.message, 'string');
      if (c.status === 'warn' || c.status === 'fail') assert.equal(typeof c.hint, 'string');
    }
    const total = json.counts.pass + json.counts.warn + json.counts.fail + json.counts.skip;
    assert.equal(total, json.checks.length);
    assert.match(checkOf(json, 'upstream').message, /not configured: .*messages routed to \$upstream wait in the store/);
    assert.equal(checkOf(json, 'upstream').status, 'skip');
    assert.match(checkOf(json, 'hub-ports').message, /^not running/);
  });
});

describe('outpost check: clock', () => {
  it('warns when the clock is behind a file of the data directory (it went back), passes otherwise', async () => {
    const dir = scope.newDir();
    const data = join(dir, 'data');
    mkdirSync(join(data, 'agent'), { recursive: true });
    writeFileSync(join(dir, 'deployment.json'), hubManifest({}));
    writeFileSync(join(data, 'agent', 'reported.json'), '{}');
    const args = ['check', '-o', 'json', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), ...PORTS];
    assert.equal(checkOf((await runOutpostJson(args)).json, 'clock').status, 'pass');
    const future = new Date(Date.now() + 2 * 60 * 60 * 1000);
    utimesSync(join(data, 'agent', 'reported.json'), future, future);
    const { code, json } = await runOutpostJson(args);
    const clock = checkOf(json, 'clock');
    assert.equal(clock.status, 'warn');
    assert.match(clock.message, /the clock went back: .*reported\.json was written (119|120) minute\(s\) after now/);
    assert.match(clock.hint!, /timedatectl set-ntp true/);
    assert.equal(code, 0);
  });
});
