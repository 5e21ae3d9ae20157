import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A container registry on the loopback speaking the Docker Registry HTTP API v2 that pulls use
 * (GET /v2/, manifests and blobs by tag or digest), with HTTP Basic authentication — the real
 * protocol a real engine pulls over, since there is no network to reach a public registry.
 * Images are one-layer Docker schema 2 images. podman reaches it over plain HTTP when started
 * with its host in `insecureRegistries`.
 */
export interface TestRegistry {
  /** 127.0.0.1:port, the registry part of image references. */
  readonly host: string;
  /** Authorization headers of the requests received, in order. */
  readonly authorizations: readonly string[];
  /** Serves `layerTar` as repo:tag; returns the manifest digest (sha256:…). */
  addImage(repo: string, tag: string, layerTar: Buffer, config: { readonly Cmd: string[]; readonly Env: string[] }): string;
  stop(): Promise<void>;
}

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
const LAYER_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

interface Blob {
  readonly type: string;
  readonly bytes: Buffer;
}

export async function startTestRegistry(username: string, password: string): Promise<TestRegistry> {
  const blobs = new Map<string, Blob>();
  /** `repo:tag` and `repo@digest` → manifest digest. */
  const manifests = new Map<string, string>();
  const authorizations: string[] = [];
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    authorizations.push(request.headers.authorization ?? '');
    response.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    if (request.headers.authorization !== expected) {
      response.setHeader('WWW-Authenticate', 'Basic realm="outpost-test"');
      return json(response, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
    const path = new URL(request.url ?? '/', 'http://registry').pathname;
    if (path === '/v2/') return json(response, 200, {});
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    const digest = match === null ? undefined : match[2] === 'manifests' ? manifests.get(`${match[1]}${match[3]!.startsWith('sha256:') ? '@' : ':'}${match[3]}`) : match[3];
    const blob = digest === undefined ? undefined : blobs.get(digest);
    if (blob === undefined || digest === undefined) return json(response, 404, { errors: [{ code: match?.[2] === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: 'not found' }] });
    response.writeHead(200, { 'Content-Type': blob.type, 'Content-Length': blob.bytes.length, 'Docker-Content-Digest': digest });
    response.end(request.method === 'HEAD' ? undefined : blob.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  const put = (type: string, bytes: Buffer): { digest: string; size: number; mediaType: string } => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    blobs.set(digest, { type, bytes });
    return { mediaType: type, size: bytes.length, digest };
  };

  return {
    host,
    authorizations,
    addImage(repo, tag, layerTar, config) {
      const layer = put(LAYER_TYPE, gzipSync(layerTar));
      const diffId = `sha256:${createHash('sha256').update(layerTar).digest('hex')}`;
      const imageConfig = put(CONFIG_TYPE, Buffer.from(JSON.stringify({ architecture: ARCH[process.arch] ?? process.arch, os: 'linux', config, rootfs: { type: 'layers', diff_ids: [diffId] } })));
      const manifest = put(MANIFEST_TYPE, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: imageConfig, layers: [layer] })));
      manifests.set(`${repo}:${tag}`, manifest.digest);
      manifests.set(`${repo}@${manifest.digest}`, manifest.digest);
      return manifest.digest;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}
