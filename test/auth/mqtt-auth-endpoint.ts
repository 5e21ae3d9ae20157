/**
 * A real TLS MQTT endpoint on port 0 that authenticates each CONNECT with an Authenticator and
 * answers CONNACK (accepted, 4 bad credentials, 5 not authorized), so the real Azure SDK can be
 * tested against the identity registry before the MQTT adapter is wired to it. It requests
 * client certificates (`requestCert`, not rejecting: the authenticator decides) and passes
 * `getPeerCertificate(true)`, as the hub's listener must.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';
import type { Authenticator, AuthResult } from '../../src/hub/auth/index.js';
import { MqttCredentials } from '../../src/hub/transport/index.js';
import { issueCertificate } from '../../src/tls/index.js';

export interface AuthEndpoint {
  readonly port: number;
  /** The CA clients must trust. */
  readonly caPem: string;
  /** Every authentication result, in order. */
  readonly results: AuthResult[];
  close(): Promise<void>;
}

const CONNACK_ACCEPTED = 0;
const CONNACK_BAD_CREDENTIALS = 4;
const CONNACK_NOT_AUTHORIZED = 5;
const DAY_MS = 24 * 3600 * 1000;

function serverCredentials(): { caPem: string; certPem: string; key: KeyObject } {
  const now = Date.now();
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const caPem = issueCertificate({ subject: { commonName: 'Auth Test CA' }, publicKey: ca, signingKey: ca, issuer: 'self', notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 30 * DAY_MS), isCa: true });
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const certPem = issueCertificate({
    subject: { commonName: 'localhost' },
    publicKey: key,
    signingKey: ca,
    issuer: caPem,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    extKeyUsage: ['serverAuth'],
    subjectAltNames: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] },
  });
  return { caPem, certPem, key };
}

export async function startAuthEndpoint(authenticator: Authenticator): Promise<AuthEndpoint> {
  const { caPem, certPem, key } = serverCredentials();
  const results: AuthResult[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: certPem + caPem, key: key.export({ type: 'pkcs8', format: 'pem' }), requestCert: true, rejectUnauthorized: false }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connect') void onConnect(socket, packet);
      else if (packet.cmd === 'disconnect') socket.end();
      else if (packet.cmd === 'pingreq') socket.write(mqttPacket.generate({ cmd: 'pingresp' }));
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  });
  server.on('tlsClientError', () => undefined);

  async function onConnect(socket: tls.TLSSocket, packet: IConnectPacket): Promise<void> {
    const result = await authenticator.authenticate(new MqttCredentials({
      listener: 'mqtt',
      secure: true,
      remoteAddress: socket.remoteAddress ?? '',
      clientId: packet.clientId,
      username: packet.username,
      password: packet.password,
      peerCertificate: socket.getPeerCertificate(true),
    }));
    results.push(result);
    const returnCode = result.ok ? CONNACK_ACCEPTED : result.reason === 'bad-credentials' ? CONNACK_BAD_CREDENTIALS : CONNACK_NOT_AUTHORIZED;
    socket.write(mqttPacket.generate({ cmd: 'connack', returnCode, sessionPresent: false }));
    if (!result.ok) socket.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    caPem,
    results,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
