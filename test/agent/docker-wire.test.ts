import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { dockerEngine } from '../../src/agent/runtime/docker/docker-engine.js';
import { authConfigFor, credentialFor, followPull, registryOf } from '../../src/agent/runtime/docker/image-puller.js';
import { demuxLogStream } from '../../src/agent/runtime/docker/log-demux.js';
import { containerCreateBody } from '../../src/agent/runtime/docker/container-spec.js';
import { readDeployment } from '../../src/agent/index.js';
import { manifestText, tempDir, writeAtomically } from './agent-harness.js';
import { join } from 'node:path';

const credentials = [
  { name: 'acr', address: 'myacr.azurecr.io', username: 'u', password: 'p' },
  { name: 'local', address: 'https://localhost:5000/', username: 'l', password: 'q' },
];

// dockerode's modem helpers work on streams; nothing here connects to the socket.
const modem = dockerEngine('/nonexistent/docker.sock').streams.modem;

describe('docker runtime wire details', () => {
  it('finds the registry of an image and its credentials', () => {
    assert.equal(registryOf('myacr.azurecr.io/filter:1.0'), 'myacr.azurecr.io');
    assert.equal(registryOf('localhost:5000/x'), 'localhost:5000');
    assert.equal(registryOf('library/busybox:1'), 'docker.io');
    assert.equal(registryOf('busybox'), 'docker.io');
    assert.equal(credentialFor('myacr.azurecr.io/filter:1.0', credentials)?.name, 'acr');
    assert.equal(credentialFor('localhost:5000/x:1', credentials)?.name, 'local');
    assert.equal(credentialFor('mcr.microsoft.com/x:1', credentials), undefined);
  });

  it('gives a credential to dockerode as its authconfig', () => {
    assert.deepEqual(authConfigFor(credentials[0]!), { username: 'u', password: 'p', serveraddress: 'myacr.azurecr.io' });
  });

  it('rejects a pull whose stream reports an error, also on a last line without a newline', async () => {
    const input = new PassThrough();
    const pulled = followPull(modem, input, 'x/y:1');
    input.write('{"status":"Pulling from x/y","id":"1"}\n');
    input.write('not json at all\n');
    input.end('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}');
    await assert.rejects(pulled, (error: { code?: string; message?: string }) => error.code === 'OUTPOST_AGENT_IMAGE_PULL_FAILED' && error.message === 'pulling x/y:1 failed: manifest unknown');
  });

  it('accepts a pull stream without errors and rejects one that breaks', async () => {
    const ok = new PassThrough();
    const done = followPull(modem, ok, 'x/y:1');
    ok.end('{"status":"Downloaded newer image for x/y:1"}\n');
    await done;
    const broken = new PassThrough();
    const failed = followPull(modem, broken, 'x/y:1');
    broken.write('{"status":"Pulling"}\n');
    broken.destroy(new Error('socket hang up'));
    await assert.rejects(failed, /pulling x\/y:1 failed: the progress stream broke: socket hang up/);
  });

  it('demultiplexes stdout and stderr frames split across chunks', async () => {
    const input = new PassThrough();
    const out = demuxLogStream(modem, input);
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const all = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((resolve) => out.on('end', resolve));
    for (let i = 0; i < all.length; i += 5) input.write(all.subarray(i, i + 5));
    input.end();
    await ended;
    assert.equal(Buffer.concat(chunks).toString(), 'out 1\nerr 1\nout 2\n');
  });

  it('passes createOptions through, merging env and labels', () => {
    const dir = tempDir('outpost-wire-');
    const file = join(dir, 'm.json');
    writeAtomically(
      file,
      manifestText({
        m: { env: { FOO: 'manifest' }, settings: { image: 'x/y:1', createOptions: JSON.stringify({ Env: ['FOO=options', 'KEEP=1'], Labels: { mine: 'yes' }, HostConfig: { Memory: 1024 } }) } },
      }),
    );
    const result = readDeployment(file, 'docker');
    assert.ok(result.ok);
    const body = containerCreateBody(result.deployment.modules[0]!, { ...result.deployment.modules[0]!.env, IOTEDGE_MODULEID: 'm' }, 'agent-1');
    assert.deepEqual(body.Env, ['FOO=manifest', 'KEEP=1', 'IOTEDGE_MODULEID=m']);
    assert.deepEqual(body.HostConfig, { Memory: 1024 });
    assert.equal(body.Image, 'x/y:1');
    const labels = body.Labels as Record<string, string>;
    assert.equal(labels.mine, 'yes');
    assert.equal(labels['io.outpost.agent'], 'agent-1');
    assert.equal(labels['io.outpost.module'], 'm');
    assert.equal(labels['io.outpost.config-hash'], result.deployment.modules[0]!.configHash);
  });
});
