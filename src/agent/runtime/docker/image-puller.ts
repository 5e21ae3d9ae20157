import { OutpostError } from '../../../errors/index.js';
import type { RegistryCredential } from '../../manifest/index.js';
import { engineMessage, type DockerClient } from './docker-client.js';

/**
 * Image pulls and checks. A pull answers HTTP 200 and reports failure *inside* the progress
 * stream ({"error": …, "errorDetail": {…}}), so the stream is read to its end and every line
 * checked. Credentials go as X-Registry-Auth: base64url of {username, password, serveraddress}.
 */

/** Registry host of an image reference: the first component when it looks like a host, else Docker Hub. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  return first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

export function credentialFor(image: string, credentials: readonly RegistryCredential[]): RegistryCredential | undefined {
  const registry = registryOf(image).toLowerCase();
  return credentials.find((c) => c.address.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase() === registry);
}

export function registryAuthHeader(credential: RegistryCredential): string {
  return Buffer.from(JSON.stringify({ username: credential.username, password: credential.password, serveraddress: credential.address })).toString('base64url');
}

/** `repo` and `tag` (a tag or a sha256 digest) of a normalized image reference. */
export function splitImage(image: string): { repo: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repo: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? { repo: image.slice(0, colon), tag: image.slice(colon + 1) } : { repo: image, tag: 'latest' };
}

export async function pullImage(client: DockerClient, image: string, credentials: readonly RegistryCredential[]): Promise<void> {
  const { repo, tag } = splitImage(image);
  const credential = credentialFor(image, credentials);
  const response = await client.open('POST', '/images/create', {
    query: { fromImage: repo, tag },
    headers: credential === undefined ? {} : { 'X-Registry-Auth': registryAuthHeader(credential) },
    timeoutMs: 0,
  });
  let text = '';
  for await (const chunk of response) text += (chunk as Buffer).toString('utf8');
  if ((response.statusCode ?? 0) >= 400) {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text
    }
    throw pullError(image, engineMessage(body), response.statusCode);
  }
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let event: { error?: string; errorDetail?: { message?: string } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      continue;
    }
    if (event.error !== undefined || event.errorDetail !== undefined) throw pullError(image, event.errorDetail?.message ?? event.error ?? 'unknown error', response.statusCode);
  }
}

function pullError(image: string, message: string, status: number | undefined): OutpostError {
  return new OutpostError('OUTPOST_AGENT_IMAGE_PULL_FAILED', `pulling ${image} failed: ${message}`, { details: { image, status } });
}

interface ImageInspect {
  Id?: string;
  RepoDigests?: string[] | null;
  Digest?: string;
}

/** The image as the engine has it, or undefined when it is not on the machine. */
export async function inspectImage(client: DockerClient, image: string): Promise<ImageInspect | undefined> {
  const answer = await client.call<ImageInspect>('GET', `/images/${encodeURIComponent(image)}/json`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new OutpostError('OUTPOST_AGENT_COMMAND_FAILED', `inspecting image ${image}: ${engineMessage(answer.body)}`, { details: { image } });
  return answer.body;
}

/** Whether the image carries `digest`: as a repository digest (name@sha256:…) or as its id. */
export function hasDigest(inspect: ImageInspect, digest: string): boolean {
  return inspect.Id === digest || inspect.Digest === digest || (inspect.RepoDigests ?? []).some((d) => d.endsWith(`@${digest}`));
}
