import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { credentialFor, registryAuthHeader, registryOf, splitImage } from '../../src/agent/runtime/docker/image-puller.js';
import { demuxLogStream } from '../../src/agent/runtime/docker/log-demux.js';
import { containerCreateBody } from '../../src/agent/runtime/docker/container-spec.js';
import { readDeployment } from '../../src/agent/index.js';
import { manifestText, tempDir, writeAtomically } from './agent-harness.js';
import { join } from 'node:path';

const credentials = [
  { name: 'acr', address: 'myacr.azurecr.io', username: 'u', password: 'p' },
  { name: 'local', address: 'https://localhost:5000/', username: 'l', password: 'q' },
];

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

  it('sends credentials as base64url JSON in X-Registry-Auth', () => {
    const header = registryAuthHeader(credentials[0]!);
    assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), { username: 'u', password: 'p', serveraddress: 'myacr.azurecr.io' });
  });

  it('splits references into repository and tag or digest', () => {
    assert.deepEqual(splitImage('localhost:5000/a/b:2'), { repo: 'localhost:5000/a/b', tag: '2' });
    assert.deepEqual(splitImage('localhost:5000/a/b'), { repo: 'localhost:5000/a/b', tag: 'latest' });
    assert.deepEqual(splitImage(`a/b@sha256:${'f'.repeat(64)}`), { repo: 'a/b', tag: `sha256:${'f'.repeat(64)}` });
  });

  it('demultiplexes stdout and stderr frames split across chunks', async () => {
    const input = new PassThrough();
    const out = demuxLogStream(input);
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
