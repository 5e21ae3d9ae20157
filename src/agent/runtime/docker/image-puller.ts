import { Transform, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Dockerode from 'dockerode';
import { OutpostError } from '../../../errors/index.js';
import type { RegistryCredential } from '../../manifest/index.js';
import { engineError, engineMessage, statusOf, type DockerEngine } from './docker-engine.js';

/**
 * Image pulls and checks. A pull answers HTTP 200 and reports failure *inside* the progress
 * stream ({"error": …, "errorDetail": {…}}), so the stream is followed to its end and every
 * event checked. Credentials go as dockerode's authconfig (X-Registry-Auth).
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

/** A manifest's registry credential as dockerode's authconfig. */
export function authConfigFor(credential: RegistryCredential): Dockerode.AuthConfig {
  return { username: credential.username, password: credential.password, serveraddress: credential.address };
}

export async function pullImage(engine: DockerEngine, image: string, credentials: readonly RegistryCredential[]): Promise<void> {
  const credential = credentialFor(image, credentials);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.streams.pull(image, credential === undefined ? {} : { authconfig: authConfigFor(credential) });
  } catch (error) {
    const status = statusOf(error);
    if (status === undefined) throw engineError(error, engine.socketPath, `pulling ${image}`, 'OUTPOST_AGENT_RUNTIME_UNAVAILABLE', { image });
    throw pullError(image, engineMessage(error), status);
  }
  await followPull(engine.streams.modem, stream, image);
}

interface PullEvent {
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Follows a pull's progress stream to its end (dockerode's followProgress); rejects with
 * OUTPOST_AGENT_IMAGE_PULL_FAILED when the engine reported an error inside it or the stream broke.
 */
export function followPull(modem: Dockerode['modem'], stream: NodeJS.ReadableStream, image: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    // A broken stream reaches followProgress as an error of the line stream.
    const lines = pipeline(stream, jsonLines(), () => undefined);
    modem.followProgress(
      lines,
      (error) => {
        if (failure !== undefined) reject(pullError(image, failure, 200));
        else if (error !== null) reject(pullError(image, `the progress stream broke: ${error.message}`, undefined));
        else resolve();
      },
      (event: PullEvent) => {
        if (failure === undefined && (event.error !== undefined || event.errorDetail !== undefined)) failure = event.errorDetail?.message ?? event.error ?? 'unknown error';
      },
    );
  });
}

/**
 * The stream as whole JSON lines. followProgress JSON.parses each line inside a 'data' handler,
 * where a line that is not JSON would throw past every catch, and it drops a last line that has
 * no newline, which is where an engine puts its error.
 */
function jsonLines(): Transform {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (out: Transform, line: string): void => {
    const text = line.trim();
    if (text === '') return;
    try {
      JSON.parse(text);
    } catch {
      return;
    }
    out.push(`${text}\n`);
  };
  return new Transform({
    transform(chunk: Buffer | string, _encoding, done) {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        emit(this, pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
      done();
    },
    flush(done) {
      emit(this, pending + decoder.end());
      pending = '';
      done();
    },
  });
}

function pullError(image: string, message: string, status: number | undefined): OutpostError {
  return new OutpostError('OUTPOST_AGENT_IMAGE_PULL_FAILED', `pulling ${image} failed: ${message}`, { details: { image, status } });
}

export interface ImageInspect {
  Id?: string;
  RepoDigests?: string[] | null;
  Digest?: string;
}

/** The image as the engine has it, or undefined when it is not on the machine. */
export async function inspectImage(engine: DockerEngine, image: string): Promise<ImageInspect | undefined> {
  try {
    return (await engine.api.getImage(image).inspect()) as ImageInspect;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw engineError(error, engine.socketPath, `inspecting image ${image}`, 'OUTPOST_AGENT_COMMAND_FAILED', { image });
  }
}

/** Whether the image carries `digest`: as a repository digest (name@sha256:…) or as its id. */
export function hasDigest(inspect: ImageInspect, digest: string): boolean {
  return inspect.Id === digest || inspect.Digest === digest || (inspect.RepoDigests ?? []).some((d) => d.endsWith(`@${digest}`));
}
