/**
 * TLS session resumption on the hub's MQTT-over-TLS listener (issue 20), against a real hub
 * process: a device that reconnects with the session ticket of its last connection resumes
 * (`isSessionReused()`), and a resumed connection authenticates as the same X.509 identity
 * without sending its certificate again, for a self-signed (thumbprint) device and for a device
 * whose certificate an intermediate CA signed (the ticket carries the leaf but not the
 * intermediate: before PeerChainCache, that device was refused on every resumed reconnect).
 * The same on the HTTPS listener (443, MQTT over WebSocket), which used Node's default tickets and
 * lost the intermediates the same way. With tls.sessionTicketLifetime=0s nothing resumes on either.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { makeCertificate, type TestCertificate } from '../auth/auth-test-helpers.js';
import { childEnv, spawnOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

const EDGE = 'edge-resume';
const HUB = 'resumehub.azure-devices.net';
const HUB_START_TIMEOUT_MS = 60_000;
const CONNACK_TIMEOUT_MS = 15_000;
const CONNACK_ACCEPTED = 0;

const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) };
const selfSigned = makeCertificate({ commonName: 'thumb-dev', ...validity });
const root = makeCertificate({ commonName: 'Resume Root CA', isCa: true, ...validity });
const intermediate = makeCertificate({ commonName: 'Resume Intermediate CA', isCa: true, issuer: root, ...validity });
const caLeaf = makeCertificate({ commonName: 'ca-dev', issuer: intermediate, ...validity });

interface RunningHub {
  readonly outpost: OutpostProcess;
  readonly port: number;
  /** The HTTPS listener (443): MQTT over WebSocket. */
  readonly httpsPort: number;
  readonly ca: string;
  readonly remove: () => void;
}

async function startHub(extraArgs: readonly string[]): Promise<RunningHub> {
  const dir = tempDir('outpost-resume-');
  const dataDir = join(dir.path, 'data');
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
  registry.add({ deviceId: 'thumb-dev', authentication: { type: 'selfSigned', primaryThumbprint: createHash('sha256').update(selfSigned.x509.raw).digest('hex').toUpperCase() } });
  registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
  const clientCaFile = join(dir.path, 'client-ca.pem');
  writeFileSync(clientCaFile, root.pem);
  const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--set', `tls.clientCaFile=${clientCaFile}`, ...extraArgs], {
    env: childEnv({ OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB }),
  });
  try {
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', HUB_START_TIMEOUT_MS);
    const ports = ready.ports as { mqtt: number; https: number };
    return { outpost, port: ports.mqtt, httpsPort: ports.https, ca: readFileSync(String(ready.caFile), 'utf8'), remove: dir.remove };
  } catch (error) {
    await stopQuietly(outpost);
    dir.remove();
    throw error;
  }
}

interface Outcome {
  readonly returnCode: number;
  readonly reused: boolean;
  readonly session: Buffer | undefined;
}

type Transport = 'tcp' | 'websocket';

/**
 * One MQTT connection as `deviceId` (X.509: user name, no password): with `certificate` (and the
 * chain after it) on a full handshake, or with only `session` to resume; over MQTT's TLS listener,
 * or as MQTT over WebSocket on the HTTPS listener (the same TLS socket carries the upgrade).
 * Resolves with the CONNACK return code, whether the session was resumed, and the last ticket the
 * hub handed out.
 */
function connectOnce(
  hub: RunningHub,
  deviceId: string,
  credentials: { certificate?: TestCertificate; chain?: readonly TestCertificate[]; session?: Buffer },
  transport: Transport = 'tcp',
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = tls.connect({
      host: '127.0.0.1',
      port: transport === 'tcp' ? hub.port : hub.httpsPort,
      servername: 'localhost',
      ca: hub.ca,
      ...(credentials.certificate === undefined ? {} : { cert: [credentials.certificate, ...(credentials.chain ?? [])].map((c) => c.pem).join(''), key: credentials.certificate.keyPem }),
      ...(credentials.session === undefined ? {} : { session: credentials.session }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no CONNACK for ${deviceId} within ${CONNACK_TIMEOUT_MS} ms`));
    }, CONNACK_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.on('session', (ticket: Buffer) => (session = ticket));
    socket.on('error', fail);
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: deviceId, username: `${HUB}/${deviceId}/?api-version=2021-04-12` });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let end: () => void = () => socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd !== 'connack') return;
      clearTimeout(timer);
      const reused = socket.isSessionReused();
      // The tickets of TLS 1.3 come after the handshake, before the CONNACK: `session` is set.
      end();
      resolve({ returnCode: packet.returnCode ?? -1, reused, session });
    });
    if (transport === 'tcp') {
      socket.once('secureConnect', () => socket.write(connect));
      socket.on('data', (chunk: Buffer) => parser.parse(chunk));
      return;
    }
    const ws = new WebSocket(`wss://localhost:${hub.httpsPort}/$iothub/websocket`, 'mqtt', { createConnection: () => socket });
    end = () => ws.close();
    ws.on('error', fail);
    ws.on('unexpected-response', (_request, response) => fail(new Error(`WebSocket upgrade answered ${response.statusCode}`)));
    ws.on('open', () => ws.send(connect));
    ws.on('message', (data: Buffer) => parser.parse(data));
  });
}

describe('TLS session resumption on the MQTT listener', () => {
  let hub: RunningHub | undefined;
  before(async () => {
    hub = await startHub([]);
  });
  after(async () => {
    await stopQuietly(hub?.outpost);
    hub?.remove();
  });

  it('a self-signed (thumbprint) device resumes, and is the same identity without sending its certificate', async () => {
    const first = await connectOnce(hub!, 'thumb-dev', { certificate: selfSigned });
    assert.equal(first.returnCode, CONNACK_ACCEPTED);
    assert.equal(first.reused, false);
    assert.ok(first.session !== undefined, 'the hub handed out a session ticket');
    const again = await connectOnce(hub!, 'thumb-dev', { session: first.session });
    assert.equal(again.reused, true, 'the reconnect resumed');
    assert.equal(again.returnCode, CONNACK_ACCEPTED);
  });

  it("a resumed session does not speak for another device: the ticket's certificate is checked again", async () => {
    const first = await connectOnce(hub!, 'thumb-dev', { certificate: selfSigned });
    const other = await connectOnce(hub!, 'ca-dev', { session: first.session });
    assert.equal(other.reused, true);
    assert.notEqual(other.returnCode, CONNACK_ACCEPTED, 'thumb-dev\'s certificate must not authenticate ca-dev');
    const none = await connectOnce(hub!, 'thumb-dev', {});
    assert.notEqual(none.returnCode, CONNACK_ACCEPTED, 'no certificate and no ticket: refused');
  });

  it('a device whose certificate an intermediate CA signed resumes and still authenticates (the chain comes back)', async () => {
    const first = await connectOnce(hub!, 'ca-dev', { certificate: caLeaf, chain: [intermediate] });
    assert.equal(first.returnCode, CONNACK_ACCEPTED);
    assert.ok(first.session !== undefined);
    const again = await connectOnce(hub!, 'ca-dev', { session: first.session });
    assert.equal(again.reused, true);
    assert.equal(again.returnCode, CONNACK_ACCEPTED, 'refused on resumption: the intermediate CA was lost with the full handshake');
  });
});

describe('TLS session resumption on the HTTPS listener (MQTT over WebSocket)', () => {
  let hub: RunningHub | undefined;
  before(async () => {
    hub = await startHub([]);
  });
  after(async () => {
    await stopQuietly(hub?.outpost);
    hub?.remove();
  });

  it('a device whose certificate an intermediate CA signed resumes on 443 and still authenticates', async () => {
    const first = await connectOnce(hub!, 'ca-dev', { certificate: caLeaf, chain: [intermediate] }, 'websocket');
    assert.equal(first.returnCode, CONNACK_ACCEPTED);
    assert.ok(first.session !== undefined, 'the HTTPS listener handed out a session ticket');
    const again = await connectOnce(hub!, 'ca-dev', { session: first.session }, 'websocket');
    assert.equal(again.reused, true, 'the reconnect resumed');
    assert.equal(again.returnCode, CONNACK_ACCEPTED, 'refused on resumption: the intermediate CA was lost with the full handshake');
  });

  it("a resumed session does not speak for another device on 443 either", async () => {
    const first = await connectOnce(hub!, 'thumb-dev', { certificate: selfSigned }, 'websocket');
    assert.equal(first.returnCode, CONNACK_ACCEPTED);
    const other = await connectOnce(hub!, 'ca-dev', { session: first.session }, 'websocket');
    assert.equal(other.reused, true);
    assert.notEqual(other.returnCode, CONNACK_ACCEPTED);
  });
});

describe('TLS session tickets off (tls.sessionTicketLifetime=0s)', () => {
  let hub: RunningHub | undefined;
  before(async () => {
    hub = await startHub(['--set', 'tls.sessionTicketLifetime=0s']);
  });
  after(async () => {
    await stopQuietly(hub?.outpost);
    hub?.remove();
  });

  for (const transport of ['tcp', 'websocket'] as const) {
    it(`nothing resumes: every handshake is a full one (${transport})`, async () => {
      const first = await connectOnce(hub!, 'thumb-dev', { certificate: selfSigned }, transport);
      assert.equal(first.returnCode, CONNACK_ACCEPTED);
      // Node may still hand the client a session object; presenting it must not resume.
      const again = await connectOnce(hub!, 'thumb-dev', { certificate: selfSigned, ...(first.session === undefined ? {} : { session: first.session }) }, transport);
      assert.equal(again.reused, false);
      assert.equal(again.returnCode, CONNACK_ACCEPTED);
    });
  }
});
